package streaming

import (
	"context"
	"errors"
	"fmt"
	"io"

	remotecommand "k8s.io/cri-streaming/pkg/streaming/remotecommand"

	tasksv1 "berth.dev/proto/berth/tasks/v1"
)

// Stdin is a container's stdin as its CRI config set it up.
type Stdin struct {
	// Open: the container has a stdin to attach to (Stdin).
	Open bool
	// Once: the first attach's input ending closes it (StdinOnce).
	Once bool
}

// attach joins a container's live stdio until the process exits or the
// client goes away: stdin and resizes go to the shim, output comes back.
// The end of the client's stdin ends things as containerd's does: for a
// StdinOnce container without a terminal it closes the container's stdin
// and the output keeps coming until the process exits; otherwise it ends
// the attach and leaves the container's stdin open for the next one. A
// container without stdin ignores the client's.
func (s *Server) attach(ctx context.Context, containerID string, in io.Reader, out, errOut io.Writer, tty bool, resize <-chan remotecommand.TerminalSize) error {
	ctx, cancel := context.WithCancel(nsContext(ctx))
	defer cancel()
	stdin := Stdin{Open: true}
	if s.ContainerStdin != nil {
		var err error
		if stdin, err = s.ContainerStdin(containerID); err != nil {
			return fmt.Errorf("attach to container %q: %w", containerID, err)
		}
	}
	if !stdin.Open {
		in = nil
	}
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
	// inputEnded is closed when the client's stdin ended the attach.
	inputEnded := make(chan struct{})
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
					if stdin.Once && !tty {
						send(stream.CloseStdin)
						return
					}
					close(inputEnded)
					cancel()
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
	err = receive(stream, out, errOut)
	select {
	case <-inputEnded:
		return nil
	default:
		return err
	}
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
