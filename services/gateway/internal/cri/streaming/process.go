package streaming

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/fifo"
	"go.uber.org/zap"
	remotecommand "k8s.io/cri-streaming/pkg/streaming/remotecommand"

	"berth.dev/pkg/log"
	"berth.dev/pkg/taskdclient"
)

// execOptions describe one exec.
type execOptions struct {
	cmd            []string
	stdin          io.Reader // nil: no stdin
	stdout, stderr io.Writer // nil: discarded
	tty            bool
	resize         <-chan remotecommand.TerminalSize
	// timeout kills the process when it runs out; 0 means none.
	timeout time.Duration
}

// errTimeout says an exec ran out of time. Like containerd's it wraps
// context.DeadlineExceeded, so the CRI caller sees DeadlineExceeded with
// "timeout" in the message (the kubelet's probes look for both).
func errTimeout(d time.Duration) error {
	return fmt.Errorf("timeout %v exceeded: %w", d, context.DeadlineExceeded)
}

// execute runs a command in a running container and returns its exit
// status once its output is copied. The exec is always deleted.
func (s *Server) execute(ctx context.Context, containerID string, o execOptions) (uint32, error) {
	if len(o.cmd) == 0 {
		return 0, fmt.Errorf("exec needs a command: %w", errdefs.ErrInvalidArgument)
	}
	ctx = nsContext(ctx)
	spec, err := s.tasks.ProcessSpec(ctx, containerID)
	if err != nil {
		return 0, err
	}
	spec.Args = o.cmd
	spec.Terminal = o.tty
	if o.tty && !hasEnv(spec.Env, "TERM") {
		spec.Env = append(spec.Env, "TERM=xterm")
	}
	execID := randomID()
	dir, err := os.MkdirTemp(s.stateDir, "exec-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	pio, err := openFifos(ctx, dir, o.stdin != nil, !o.tty)
	if err != nil {
		return 0, err
	}
	defer pio.close()
	p := taskdclient.ExecProcess{ContainerID: containerID, ExecID: execID, Terminal: o.tty, Spec: spec,
		Stdin: pio.paths[0], Stdout: pio.paths[1], Stderr: pio.paths[2]}
	if err := s.tasks.Exec(ctx, p); err != nil {
		return 0, fmt.Errorf("exec in container %q: %w", containerID, err)
	}
	// Deleting needs a context of its own: the caller's may be over.
	defer func() {
		cctx, cancel := context.WithTimeout(nsContext(context.WithoutCancel(ctx)), 10*time.Second)
		defer cancel()
		if err := s.tasks.DeleteProcess(cctx, containerID, execID); err != nil && !errdefs.IsNotFound(err) {
			log.G(ctx).Warn("delete exec", zap.String("id", containerID), zap.String("exec", execID), zap.Error(err))
		}
	}()
	// The end of the client's input closes the process's stdin through
	// CloseIO, once the process has started: the shim holds the fifo open
	// until then, so that input already in it is delivered first.
	started := make(chan struct{})
	endStdin := func() {
		select {
		case <-started:
		case <-ctx.Done():
			return
		}
		cctx, cancel := context.WithTimeout(nsContext(context.WithoutCancel(ctx)), 10*time.Second)
		defer cancel()
		if err := s.tasks.CloseStdin(cctx, containerID, execID); err != nil && !errdefs.IsNotFound(err) {
			log.G(ctx).Warn("close exec stdin", zap.String("id", containerID), zap.String("exec", execID), zap.Error(err))
		}
	}
	copied := pio.copy(o.stdin, o.stdout, o.stderr, endStdin)
	if err := s.tasks.Start(ctx, containerID, execID); err != nil {
		return 0, fmt.Errorf("start exec in container %q: %w", containerID, err)
	}
	close(started)
	if o.tty && o.resize != nil {
		go s.resizeLoop(ctx, containerID, execID, o.resize)
	}
	return s.wait(ctx, containerID, execID, o.timeout, copied)
}

// wait waits for the exit and the end of output; a timeout or an ended
// caller kills the process first.
func (s *Server) wait(ctx context.Context, containerID, execID string, timeout time.Duration, copied <-chan struct{}) (uint32, error) {
	type exit struct {
		status uint32
		err    error
	}
	exited := make(chan exit, 1)
	// Waiting outlives ctx: after a kill the exit must still be seen.
	wctx, cancel := context.WithCancel(nsContext(context.WithoutCancel(ctx)))
	defer cancel()
	go func() {
		st, _, err := s.tasks.Wait(wctx, containerID, execID)
		exited <- exit{st, err}
	}()
	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	var cause error
	select {
	case e := <-exited:
		if e.err != nil {
			return 0, fmt.Errorf("wait for exec in %q: %w", containerID, e.err)
		}
		// A child the command left behind may hold its output open; the
		// timeout and the caller bound the wait for it, and what was
		// copied until then is the output.
		select {
		case <-copied:
		case <-expired:
			log.G(ctx).Debug("exec exited, its output is still open", zap.String("id", containerID), zap.String("exec", execID))
		case <-ctx.Done():
		}
		return e.status, nil
	case <-expired:
		cause = fmt.Errorf("exec in container %q: %w", containerID, errTimeout(timeout))
	case <-ctx.Done():
		cause = ctx.Err()
	}
	err := s.tasks.Kill(wctx, containerID, execID, uint32(syscall.SIGKILL))
	if err != nil {
		if !errdefs.IsNotFound(err) {
			log.G(ctx).Warn("kill exec", zap.String("id", containerID), zap.String("exec", execID), zap.Error(err))
		}
		// Exited already: its exit waits for output a child holds open.
		return 0, cause
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		log.G(ctx).Warn("killed exec did not exit", zap.String("id", containerID), zap.String("exec", execID))
	}
	return 0, cause
}

func (s *Server) resizeLoop(ctx context.Context, containerID, execID string, resize <-chan remotecommand.TerminalSize) {
	for {
		select {
		case <-ctx.Done():
			return
		case size, ok := <-resize:
			if !ok {
				return
			}
			if size.Width == 0 || size.Height == 0 {
				continue
			}
			if err := s.tasks.ResizePty(ctx, containerID, execID, uint32(size.Width), uint32(size.Height)); err != nil {
				log.G(ctx).Debug("resize exec terminal", zap.String("id", containerID), zap.Error(err))
			}
		}
	}
}

func hasEnv(env []string, key string) bool {
	for _, e := range env {
		if len(e) > len(key) && e[:len(key)+1] == key+"=" {
			return true
		}
	}
	return false
}

func randomID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// processIO is an exec's fifos, opened on this side before the shim opens
// the other.
type processIO struct {
	paths [3]string
	files [3]io.ReadWriteCloser
	once  sync.Once
}

func openFifos(ctx context.Context, dir string, stdin, stderr bool) (*processIO, error) {
	pio := &processIO{}
	want := [3]bool{stdin, true, stderr}
	for i, name := range []string{"stdin", "stdout", "stderr"} {
		if !want[i] {
			continue
		}
		flag := syscall.O_RDONLY
		if i == 0 {
			flag = syscall.O_WRONLY
		}
		path := filepath.Join(dir, name)
		// Non-blocking open: the fifo package completes it once the shim
		// opens its end, and Read or Write wait for that.
		f, err := fifo.OpenFifo(context.WithoutCancel(ctx), path, flag|syscall.O_CREAT|syscall.O_NONBLOCK, 0o700)
		if err != nil {
			pio.close()
			return nil, fmt.Errorf("fifo %s: %w", path, err)
		}
		pio.paths[i], pio.files[i] = path, f
	}
	return pio, nil
}

// copy moves stdin in and output out; the channel closes when the output
// streams reached their end (the process and its children closed them).
func (p *processIO) copy(stdin io.Reader, stdout, stderr io.Writer, endStdin func()) <-chan struct{} {
	if p.files[0] != nil {
		go func() {
			io.Copy(p.files[0], stdin)
			p.files[0].Close()
			endStdin()
		}()
	}
	var wg sync.WaitGroup
	for i, w := range []io.Writer{stdout, stderr} {
		f := p.files[i+1]
		if f == nil {
			continue
		}
		if w == nil {
			w = io.Discard
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := io.Copy(w, f)
			if err != nil && !errors.Is(err, os.ErrClosed) {
				io.Copy(io.Discard, f) // keep the process from blocking on a full fifo
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	return done
}

func (p *processIO) close() {
	p.once.Do(func() {
		for _, f := range p.files {
			if f != nil {
				f.Close()
			}
		}
	})
}
