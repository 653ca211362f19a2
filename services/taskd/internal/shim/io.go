package shim

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/containerd/console"
	runc "github.com/containerd/go-runc"
)

// stdio connects a process to the client's fifos, through pipes or a pty.
type stdio struct {
	paths   Stdio
	pipes   runc.IO
	socket  *runc.Socket
	console console.Console
	copies  sync.WaitGroup
	// The client's output fifos, opened before the process starts and held
	// until its output is copied: a client waits for that open to finish,
	// and would miss output written and closed before it got there.
	stdout, stderr *os.File
}

func openOutput(fifo string) (*os.File, error) {
	if fifo == "" {
		return nil, nil
	}
	f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", fifo, err)
	}
	return f, nil
}

func newStdio(paths Stdio) (*stdio, error) {
	s := &stdio{paths: paths}
	var err error
	if s.stdout, err = openOutput(paths.Stdout); err != nil {
		return nil, err
	}
	if !paths.Terminal {
		if s.stderr, err = openOutput(paths.Stderr); err != nil {
			s.stdout.Close()
			return nil, err
		}
	}
	if paths.Terminal {
		sock, err := runc.NewTempConsoleSocket()
		if err != nil {
			return nil, fmt.Errorf("console socket: %w", err)
		}
		s.socket = sock
		return s, nil
	}
	pio, err := runc.NewPipeIO(0, 0, func(o *runc.IOOption) {
		o.OpenStdin = paths.Stdin != ""
		o.OpenStdout = true
		o.OpenStderr = true
	})
	if err != nil {
		return nil, err
	}
	s.pipes = pio
	return s, nil
}

// start copies between the fifos and the process once runc started it.
func (s *stdio) start() error {
	if s.socket != nil {
		c, err := s.socket.ReceiveMaster()
		s.socket.Close()
		if err != nil {
			return fmt.Errorf("receive pty: %w", err)
		}
		s.console = c
		s.copyOut(c, s.stdout)
		s.copyIn(c, s.paths.Stdin)
		return nil
	}
	// The child has its ends now; closing ours lets EOF through at exit.
	s.pipes.(interface{ CloseAfterStart() error }).CloseAfterStart()
	s.copyOut(s.pipes.Stdout(), s.stdout)
	s.copyOut(s.pipes.Stderr(), s.stderr)
	if s.paths.Stdin != "" {
		s.copyIn(s.pipes.Stdin(), s.paths.Stdin)
	}
	return nil
}

func (s *stdio) copyOut(src io.Reader, f *os.File) {
	s.copies.Add(1)
	go func() {
		defer s.copies.Done()
		var dst io.Writer = io.Discard
		if f != nil {
			defer f.Close()
			dst = f
		}
		buf := make([]byte, 32<<10)
		io.CopyBuffer(dst, src, buf)
	}()
}

func (s *stdio) copyIn(dst io.WriteCloser, fifo string) {
	if fifo == "" {
		return
	}
	go func() {
		f, err := os.OpenFile(fifo, os.O_RDONLY, 0)
		if err != nil {
			return
		}
		defer f.Close()
		io.Copy(dst, f)
		if s.console == nil {
			dst.Close()
		}
	}()
}

// set gives runc the process's stdio.
func (s *stdio) runcIO() runc.IO { return s.pipes }

// closeStdin ends the process's input (CloseIO).
func (s *stdio) closeStdin() {
	if s.pipes != nil && s.pipes.Stdin() != nil {
		s.pipes.Stdin().Close()
	}
}

// wait blocks until the output copies finished (the process and its
// children closed their ends), so an exit is reported after its output.
func (s *stdio) wait() {
	if s.console != nil {
		// A pty master reads EIO once the last slave closes.
		s.copies.Wait()
		s.console.Close()
		return
	}
	s.copies.Wait()
	if s.pipes != nil {
		s.pipes.Close()
	}
}

func (s *stdio) resize(w, h uint32) error {
	if s.console == nil {
		return fmt.Errorf("process has no terminal")
	}
	return s.console.Resize(console.WinSize{Width: uint16(w), Height: uint16(h)})
}

// abort releases the fifos and pipes of a process that never started.
func (s *stdio) abort() {
	for _, f := range []*os.File{s.stdout, s.stderr} {
		if f != nil {
			f.Close()
		}
	}
	if s.pipes != nil {
		s.pipes.Close()
	}
	if s.socket != nil {
		s.socket.Close()
	}
}
