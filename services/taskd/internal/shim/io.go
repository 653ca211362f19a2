package shim

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"

	"github.com/containerd/console"
	runc "github.com/containerd/go-runc"
)

// Stream numbers of attach frames, as berth.tasks.v1 names them.
const (
	streamStdout = 0
	streamStderr = 1
)

// stdio connects a process to its stdio URIs, through pipes or a pty: the
// shim copies each output stream to its destination (a fifo, a file, a CRI
// log, a logger process) and to attached clients, and feeds stdin from a
// fifo or from attached clients.
type stdio struct {
	paths   Stdio
	in      input
	pipes   runc.IO
	socket  *runc.Socket
	console console.Console
	copies  sync.WaitGroup
	// Destinations, opened before the process starts and held until its
	// output is copied: a client waits for a fifo's open to finish, and
	// would miss output written and closed before it got there.
	stdout, stderr io.WriteCloser
	logs           []*logFile // reopened by ReopenLog
	logger         *logger    // a binary:// logger process
	hub            *hub

	aborted sync.Once

	inMu      sync.Mutex
	stdin     io.Writer // what attached clients write to; nil once closed
	stdinPipe io.Closer
	// stdinHold is the shim's own write end of a client's stdin fifo: the
	// copy into the process sees EOF only once it is closed (CloseIO) and
	// the client's end is too, so input already in the fifo is delivered
	// first, as containerd's shim does.
	stdinHold *os.File
}

func newStdio(paths Stdio, ids processIDs) (_ *stdio, err error) {
	s := &stdio{paths: paths, hub: newHub()}
	if s.in, err = parseInput(paths.Stdin); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.abort()
		}
	}()
	if err := s.openOutputs(ids); err != nil {
		return nil, err
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
		o.OpenStdin = s.in.kind != inNone
		o.OpenStdout = true
		o.OpenStderr = true
	})
	if err != nil {
		return nil, err
	}
	s.pipes = pio
	return s, nil
}

// start copies between the process and its destinations once runc started
// it.
func (s *stdio) start() error {
	if s.socket != nil {
		c, err := s.socket.ReceiveMaster()
		s.socket.Close()
		s.socket = nil
		if err != nil {
			return fmt.Errorf("receive pty: %w", err)
		}
		s.console = c
		// With a terminal everything the process writes is stdout.
		if s.stderr != nil {
			s.stderr.Close()
			s.stderr = nil
		}
		s.copyOut(c, streamStdout, s.stdout)
		s.startStdin(c, nil)
		return nil
	}
	// The child has its ends now; closing ours lets EOF through at exit.
	s.pipes.(interface{ CloseAfterStart() error }).CloseAfterStart()
	s.copyOut(s.pipes.Stdout(), streamStdout, s.stdout)
	s.copyOut(s.pipes.Stderr(), streamStderr, s.stderr)
	if s.in.kind != inNone {
		s.startStdin(s.pipes.Stdin(), s.pipes.Stdin())
	}
	return nil
}

// copyOut copies one output stream to dst and to attached clients; only
// dst may slow the process down, never a client.
func (s *stdio) copyOut(src io.Reader, stream int, dst io.WriteCloser) {
	s.copies.Add(1)
	go func() {
		defer s.copies.Done()
		if dst != nil {
			defer dst.Close()
		}
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				if dst != nil {
					dst.Write(buf[:n])
				}
				s.hub.publish(stream, buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
}

// startStdin feeds the process's stdin: from the client's fifo, or from
// attached clients (attach://), in which case the shim holds it open.
func (s *stdio) startStdin(w io.Writer, c io.Closer) {
	switch s.in.kind {
	case inAttach:
		s.inMu.Lock()
		s.stdin, s.stdinPipe = w, c
		s.inMu.Unlock()
	case inFifo:
		// Opening the read end without blocking lets the shim open its own
		// write end at once; a fifo open for reading accepts it.
		f, err := os.OpenFile(s.in.path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			return
		}
		hold, err := os.OpenFile(s.in.path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			f.Close()
			return
		}
		s.inMu.Lock()
		s.stdinHold = hold
		s.inMu.Unlock()
		go func() {
			defer f.Close()
			io.Copy(w, f)
			if c != nil {
				c.Close()
			}
		}()
	}
}

// writeStdin writes an attached client's input; it is dropped when the
// process has no attachable stdin or it was closed.
func (s *stdio) writeStdin(p []byte) error {
	s.inMu.Lock()
	w := s.stdin
	s.inMu.Unlock()
	if w == nil || len(p) == 0 {
		return nil
	}
	// Not under the lock: a process that does not read its stdin must not
	// keep CloseIO waiting (closing the pipe ends a blocked write).
	_, err := w.Write(p)
	return err
}

// closeStdin ends the process's input (CloseIO, an attached client's
// close_stdin, the end of a StdinOnce attach).
func (s *stdio) closeStdin() {
	s.inMu.Lock()
	defer s.inMu.Unlock()
	s.stdin = nil
	if s.stdinHold != nil {
		// The copy closes the process's stdin once the fifo is drained.
		s.stdinHold.Close()
		s.stdinHold = nil
		return
	}
	if s.stdinPipe != nil {
		s.stdinPipe.Close()
		s.stdinPipe = nil
		return
	}
	if s.pipes != nil && s.pipes.Stdin() != nil {
		s.pipes.Stdin().Close()
	}
}

// runcIO gives runc the process's pipes (nil with a terminal).
func (s *stdio) runcIO() runc.IO { return s.pipes }

// wait blocks until the output copies finished (the process and its
// children closed their ends), so an exit is reported after its output,
// then ends every attach stream.
func (s *stdio) wait() {
	s.copies.Wait()
	s.hub.close()
	if s.console != nil {
		// A pty master reads EIO once the last slave closes.
		s.console.Close()
	}
	if s.pipes != nil {
		s.pipes.Close()
	}
	s.closeStdin()
	if s.logger != nil {
		// Not waited for here: the exit need not wait for the logger.
		go s.logger.stop()
	}
}

func (s *stdio) resize(w, h uint32) error {
	if s.console == nil {
		return fmt.Errorf("process has no terminal")
	}
	return s.console.Resize(console.WinSize{Width: uint16(w), Height: uint16(h)})
}

// reopenLogs reopens the process's log files (log rotation).
func (s *stdio) reopenLogs() error {
	if len(s.logs) == 0 {
		return fmt.Errorf("process has no log file")
	}
	var errs []error
	for _, l := range s.logs {
		errs = append(errs, l.reopen())
	}
	return errors.Join(errs...)
}

// abort releases the destinations and pipes of a process that never
// started.
func (s *stdio) abort() { s.aborted.Do(s.release) }

func (s *stdio) release() {
	for _, w := range []io.WriteCloser{s.stdout, s.stderr} {
		if w != nil {
			w.Close()
		}
	}
	if s.pipes != nil {
		s.pipes.Close()
	}
	if s.socket != nil {
		s.socket.Close()
	}
	if s.logger != nil {
		s.logger.kill()
	}
	s.hub.close()
}
