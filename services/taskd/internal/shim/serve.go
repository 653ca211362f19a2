package shim

import (
	"net"
	"os"
	"path/filepath"
)

// Serve answers RPCs on the shim's socket until the task is deleted.
func (s *Service) Serve() error {
	path := s.socket
	if err := checkSocketPath(path); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o711); err != nil {
		return err
	}
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return err
	}
	// Only root (taskd) talks to a shim: its socket must not depend on the
	// umask the shim inherited.
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return err
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go serveConn(s, c)
		}
	}()
	<-s.shutdown
	l.Close()
	os.Remove(path)
	return nil
}
