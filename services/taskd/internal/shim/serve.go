package shim

import (
	"net"
	"os"
	"path/filepath"
)

// Serve answers RPCs on the socket in the bundle until the task is deleted.
func (s *Service) Serve() error {
	path := filepath.Join(s.bundle, SocketName)
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
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
