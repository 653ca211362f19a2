package streaming

import (
	"context"
	"errors"
	"fmt"
	"io"

	remotecommand "k8s.io/cri-streaming/pkg/streaming/remotecommand"

	tasksv1 "berth.dev/proto/berth/tasks/v1"
)

// attach joins a container's live stdio until the process exits or the
// client goes away: stdin and resizes go to the shim, output comes back.
func (s *Server) attach(ctx context.Context, containerID string, in io.Reader, out, errOut io.Writer, resize <-chan remotecommand.TerminalSize) error {
	ctx, cancel := context.WithCancel(nsContext(ctx))
	defer cancel()
	stream, err := s.tasks.Attach(ctx, containerID)
	if err != nil {
		return fmt.Errorf("attach to container %q: %w", containerID, err)
	}
	sends := make(chan func() error)
	go func() {
		// One sender: gRPC streams allow no concurrent Send.
		for {
			select {
			case <-ctx.Done():
				return
			case send := <-sends:
				if send() != nil {
					return
				}
			}
		}
	}()
	send := func(m func() error) bool {
		select {
		case sends <- m:
			return true
		case <-ctx.Done():
			return false
		}
	}
	if in != nil {
		go func() {
			buf := make([]byte, 32<<10)
			for {
				n, err := in.Read(buf)
				data := append([]byte(nil), buf[:n]...)
				if n > 0 && !send(func() error { _, err := stream.Write(data); return err }) {
					return
				}
				if err != nil {
					// The shim closes the process's stdin only for a
					// StdinOnce container, as containerd does.
					send(stream.CloseSend)
					return
				}
			}
		}()
	}
	if resize != nil {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case size, ok := <-resize:
					if !ok {
						return
					}
					w, h := uint32(size.Width), uint32(size.Height)
					if w > 0 && h > 0 && !send(func() error { return stream.Resize(w, h) }) {
						return
					}
				}
			}
		}()
	}
	return receive(stream, out, errOut)
}

// receive writes the process's output to the client until the stream ends.
func receive(stream interface {
	Recv() (*tasksv1.AttachResponse, error)
}, out, errOut io.Writer) error {
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		w := out
		if m.Stream == tasksv1.AttachResponse_STDERR {
			w = errOut
		}
		if w == nil {
			continue
		}
		if _, err := w.Write(m.Data); err != nil {
			return nil // the client went away
		}
	}
}
