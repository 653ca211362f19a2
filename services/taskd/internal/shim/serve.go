package shim

import (
	"net"
	"os"
	"path/filepath"
)

// ListenFD is the descriptor of the socket taskd listens on for a shim it
// starts (see Launch): taskd connects at once, and the first call is
// answered as soon as the shim serves.
const ListenFD = 3

// Serve answers RPCs on the shim's socket until the task is deleted: the
// socket inherited at ListenFD when inherited is set, else one it binds.
func (s *Service) Serve(inherited bool) error {
	path := s.socket
	var l net.Listener
	var err error
	if inherited {
		f := os.NewFile(ListenFD, "shim socket")
		l, err = net.FileListener(f)
		f.Close()
	} else {
		l, err = listen(path)
	}
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

// listen binds the shim's socket, readable by root alone: only taskd
// talks to a shim, and the socket must not depend on the umask.
func listen(path string) (net.Listener, error) {
	if err := checkSocketPath(path); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o711); err != nil {
		return nil, err
	}
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}
