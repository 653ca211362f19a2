package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/console"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
)

// stdinCloser closes the process's stdin (CloseIO) when ours ends, so a
// process reading it sees EOF.
type stdinCloser struct {
	r     io.Reader
	once  sync.Once
	ready chan struct{}
	close func()
}

func (s *stdinCloser) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err == io.EOF {
		s.once.Do(func() {
			go func() {
				<-s.ready
				s.close()
			}()
		})
	}
	return n, err
}

// process is what runForeground drives: a task or an exec'd process.
type process interface {
	Start(context.Context) error
	Wait(context.Context) (<-chan containerd.ExitStatus, error)
	Kill(context.Context, syscall.Signal, ...containerd.KillOpts) error
	Resize(ctx context.Context, w, h uint32) error
	CloseIO(context.Context, ...containerd.IOCloserOpts) error
}

// terminal sets up -t: the console put in raw mode when there is one.
func terminal(g *globals, interactive bool) (console.Console, error) {
	f, ok := g.stdin.(*os.File)
	if !interactive {
		f, ok = g.stdout.(*os.File)
	}
	if !ok {
		return nil, nil
	}
	con, err := console.ConsoleFromFile(f)
	if err != nil {
		if interactive {
			return nil, fmt.Errorf("the input device is not a TTY: drop -t, or run berth from a terminal")
		}
		return nil, nil
	}
	return con, nil
}

// stdio builds the IO for a foreground process and returns what must be
// done once the process exists.
type stdio struct {
	creator cio.Creator
	con     console.Console
	closer  *stdinCloser
	// started is called once the process runs.
	started func()
}

func newStdio(g *globals, tty, interactive bool) (*stdio, error) {
	s := &stdio{}
	var in io.Reader
	if interactive {
		s.closer = &stdinCloser{r: g.stdin, ready: make(chan struct{})}
		in = s.closer
	}
	var out io.Writer = g.stdout
	opts := []cio.Opt{cio.WithFIFODir(filepath.Join(g.stateDir(), "cli", "fifo"))}
	if tty {
		con, err := terminal(g, interactive)
		if err != nil {
			return nil, err
		}
		if con != nil {
			if err := con.SetRaw(); err != nil {
				return nil, err
			}
			s.con = con
			if interactive {
				in = con
				s.closer = nil
			}
		}
		opts = append(opts, cio.WithStreams(in, out, nil), cio.WithTerminal)
	} else {
		opts = append(opts, cio.WithStreams(in, out, g.stderr))
	}
	if err := os.MkdirAll(filepath.Join(g.stateDir(), "cli", "fifo"), 0o700); err != nil {
		return nil, err
	}
	s.creator = cio.NewCreator(opts...)
	return s, nil
}

func (s *stdio) reset() {
	if s.con != nil {
		s.con.Reset()
	}
}

// attach runs p to its end: resizes follow the terminal, signals are
// forwarded, and the exit code is returned.
func (s *stdio) attach(ctx context.Context, p process) (int, error) {
	statusC, err := p.Wait(ctx)
	if err != nil {
		return 0, err
	}
	if s.closer != nil {
		s.closer.close = func() { p.CloseIO(ctx, containerd.WithStdinCloser) }
		close(s.closer.ready)
	}
	if err := p.Start(ctx); err != nil {
		return 0, startFailure{err}
	}
	if s.started != nil {
		s.started()
	}
	stop := s.forward(ctx, p)
	defer stop()
	st := <-statusC
	code, _, err := st.Result()
	return int(code), err
}

func (s *stdio) forward(ctx context.Context, p process) func() {
	sigs := make(chan os.Signal, 8)
	if s.con != nil {
		resize := func() {
			if size, err := s.con.Size(); err == nil && size.Width > 0 {
				p.Resize(ctx, uint32(size.Width), uint32(size.Height))
			}
		}
		resize()
		signal.Notify(sigs, syscall.SIGWINCH)
		go func() {
			for range sigs {
				resize()
			}
		}()
	} else {
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
		go func() {
			for sig := range sigs {
				p.Kill(ctx, sig.(syscall.Signal))
			}
		}()
	}
	return func() { signal.Stop(sigs); close(sigs) }
}

// runForeground starts a container's task attached to this terminal and
// returns its exit code, recording it on the container for ps.
func runForeground(ctx context.Context, g *globals, container containerd.Container, tty, interactive bool) (int, error) {
	s, err := newStdio(g, tty, interactive)
	if err != nil {
		return 0, err
	}
	defer s.reset()
	task, err := container.NewTask(ctx, s.creator)
	if err != nil {
		return 0, startFailure{err}
	}
	s.started = func() { recordStart(ctx, container) }
	code, err := s.attach(ctx, task)
	if _, derr := task.Delete(ctx); derr != nil && err == nil && !errors.Is(derr, context.Canceled) {
		g.debugf("delete task: %v", derr)
	}
	if err == nil {
		recordExit(ctx, container, code, time.Now())
	}
	return code, err
}

// recordStart keeps when a container's process started, for ps's "Up".
func recordStart(ctx context.Context, container containerd.Container) {
	container.SetLabels(ctx, map[string]string{labelStarted: time.Now().UTC().Format(time.RFC3339Nano)})
}

// recordExit keeps a finished container's exit on its labels, for ps and
// inspect once its task is gone.
func recordExit(ctx context.Context, container containerd.Container, code int, at time.Time) {
	container.SetLabels(ctx, map[string]string{labelExitCode: strconv.Itoa(code), labelExitedAt: at.UTC().Format(time.RFC3339Nano)})
}
