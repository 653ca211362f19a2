package streaming

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

// portForward copies between the client and localhost:port inside the
// sandbox's network namespace, as containerd does. The copy ends when the
// pod's side closes or the client goes away.
func (s *Server) portForward(ctx context.Context, sandboxID string, port int32, stream io.ReadWriteCloser) error {
	if port <= 0 || port > 65535 {
		return fmt.Errorf("port %d out of range: %w", port, errdefs.ErrInvalidArgument)
	}
	path, err := s.netns(ctx, sandboxID)
	if err != nil {
		return fmt.Errorf("sandbox %q: %w", sandboxID, err)
	}
	conn, err := dialInNetNS(path, port)
	if err != nil {
		return fmt.Errorf("port forward to %d in sandbox %q: %w", port, sandboxID, err)
	}
	defer conn.Close()
	done := make(chan struct{})
	go func() {
		io.Copy(conn, stream)
		// The client is done sending: let the pod see EOF and answer.
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
	}()
	go func() {
		io.Copy(stream, conn)
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return nil
}

// dialInNetNS connects to localhost:port from inside the namespace at
// path (the host's when path is empty). The socket keeps the namespace it was made in; the thread that
// entered the namespace is returned to the host's before it is released,
// or left to die with its goroutine.
func dialInNetNS(path string, port int32) (net.Conn, error) {
	if path == "" {
		// A pod on the host's network.
		return dialLocal(port)
	}
	type result struct {
		conn net.Conn
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		host, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		defer host.Close()
		target, err := os.Open(path)
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("network namespace %s: %w", path, errdefs.ErrNotFound)}
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("enter %s: %w", path, err)}
			return
		}
		conn, err := dialLocal(port)
		if unix.Setns(int(host.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		ch <- result{conn, err}
	}()
	r := <-ch
	return r.conn, r.err
}

// dialLocal connects to localhost, IPv4 first, as containerd does.
func dialLocal(port int32) (net.Conn, error) {
	conn, err := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		if c6, err6 := net.Dial("tcp6", fmt.Sprintf("[::1]:%d", port)); err6 == nil {
			return c6, nil
		}
	}
	return conn, err
}
