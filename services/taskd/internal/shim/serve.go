package shim

import (
	"net"
	"net/rpc"
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
	srv := rpc.NewServer()
	if err := srv.RegisterName(ServiceName, s); err != nil {
		return err
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go srv.ServeConn(c)
		}
	}()
	<-s.shutdown
	l.Close()
	os.Remove(path)
	return nil
}
