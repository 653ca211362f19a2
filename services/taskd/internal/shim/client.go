package shim

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/errdefs"
)

// Client is taskd's connection to one shim.
type Client struct {
	// Dir is the task's bundle, Socket the shim's socket.
	Dir, Socket string
	rpc         *rpcClient
	// For a shim this taskd started: its process, and closed once it exited.
	proc   *os.Process
	exited chan struct{}
}

// Connect dials the shim of bundle dir at socket. A shim of an earlier Berth
// that listens in the bundle is found there.
func Connect(dir, socket string) (*Client, error) {
	c, err := net.DialTimeout("unix", socket, 2*time.Second)
	if err != nil {
		legacy := legacySocketPath(dir)
		if _, serr := os.Stat(legacy); serr != nil {
			return nil, fmt.Errorf("shim of %s: %v: %w", dir, err, errdefs.ErrUnavailable)
		}
		if c, err = net.DialTimeout("unix", legacy, 2*time.Second); err != nil {
			return nil, fmt.Errorf("shim of %s: %v: %w", dir, err, errdefs.ErrUnavailable)
		}
		socket = legacy
	}
	return &Client{Dir: dir, Socket: socket, rpc: newRPCClient(c)}, nil
}

// Launch starts a shim for the bundle dir and connects to it. The shim gets
// its own session so it survives taskd. taskd binds the shim's socket and
// hands it over, so it connects without waiting for the shim to start: the
// first call is answered once the shim serves (or fails, with the shim's
// own words, if it exits first).
func Launch(bin string, cfg Config) (*Client, error) {
	l, err := listen(cfg.Socket)
	if err != nil {
		return nil, err
	}
	ul := l.(*net.UnixListener)
	// The shim removes the socket when it exits; closing taskd's copy of
	// the listener must not.
	ul.SetUnlinkOnClose(false)
	lf, err := ul.File()
	ul.Close()
	if err != nil {
		os.Remove(cfg.Socket)
		return nil, err
	}
	defer lf.Close()
	logf, err := os.OpenFile(filepath.Join(cfg.Bundle, "shim.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		os.Remove(cfg.Socket)
		return nil, err
	}
	defer logf.Close()
	args := append(cfg.Args(), "-listen-fd")
	cmd := exec.Command(bin, args...)
	cmd.Dir = cfg.Bundle
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{lf} // ListenFD
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		os.Remove(cfg.Socket)
		return nil, fmt.Errorf("start shim: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	c, err := dial(cfg.Bundle, cfg.Socket)
	if err != nil {
		cmd.Process.Kill()
		<-exited
		os.Remove(cfg.Socket)
		return nil, fmt.Errorf("connect to shim: %w", err)
	}
	c.proc, c.exited = cmd.Process, exited
	return c, nil
}

// StartError explains a failed first call to a shim that exited at start
// by what the shim wrote; other errors are returned as they are.
func (c *Client) StartError(err error) error {
	if c.exited == nil || !errdefs.IsUnavailable(err) {
		return err
	}
	select {
	case <-c.exited:
	case <-time.After(time.Second):
		return err
	}
	b, _ := os.ReadFile(filepath.Join(c.Dir, "shim.log"))
	return fmt.Errorf("shim exited at start: %s", strings.TrimSpace(string(b)))
}

func dial(dir, socket string) (*Client, error) {
	c, err := net.DialTimeout("unix", socket, 2*time.Second)
	if err != nil {
		return nil, err
	}
	return &Client{Dir: dir, Socket: socket, rpc: newRPCClient(c)}, nil
}

// Shutdown stops a shim whose task could not be created and waits until it
// is gone, killing it if it does not exit by itself.
func (c *Client) Shutdown() {
	c.call("Shutdown", Empty{}, &Empty{})
	c.Close()
	if c.exited == nil {
		return
	}
	select {
	case <-c.exited:
	case <-time.After(5 * time.Second):
		c.proc.Kill()
		<-c.exited
	}
	os.Remove(c.Socket)
}

// Pid is the shim's process id if taskd started it (0 for a shim it
// reconnected to).
func (c *Client) Pid() int {
	if c.proc == nil {
		return 0
	}
	return c.proc.Pid
}

// Gone closes once the shim's connection is lost: a shim that was told
// to delete its task closes it as it exits.
func (c *Client) Gone() <-chan struct{} {
	if c.rpc == nil {
		done := make(chan struct{})
		close(done)
		return done
	}
	return c.rpc.closed
}

// KillProcess kills a shim taskd started (one that does not exit by
// itself).
func (c *Client) KillProcess() {
	if c.proc != nil {
		c.proc.Kill()
	}
}

// Close drops the connection; the shim keeps running.
// Exited says whether a shim taskd started has exited (false for one it
// reconnected to).
func (c *Client) Exited() bool {
	if c.exited == nil {
		return false
	}
	select {
	case <-c.exited:
		return true
	default:
		return false
	}
}

func (c *Client) Close() error {
	if c.rpc == nil {
		return nil
	}
	return c.rpc.Close()
}

func (c *Client) call(method string, req, resp any) error {
	if c.rpc == nil {
		return fmt.Errorf("shim of %s is gone: %w", c.Dir, errdefs.ErrUnavailable)
	}
	if err := c.rpc.Call(method, req, resp); err != nil {
		return classify(err)
	}
	return nil
}

// classify gives shim errors their errdefs class.
func classify(err error) error {
	msg := err.Error()
	switch {
	case errors.Is(err, errShutdown) || strings.Contains(msg, "connection reset") || strings.Contains(msg, "EOF"):
		return fmt.Errorf("shim connection lost: %v: %w", err, errdefs.ErrUnavailable)
	case strings.Contains(msg, "not found"), strings.Contains(msg, "does not exist"):
		return fmt.Errorf("%s: %w", msg, errdefs.ErrNotFound)
	case strings.Contains(msg, "already"):
		return fmt.Errorf("%s: %w", msg, errdefs.ErrAlreadyExists)
	case strings.Contains(msg, "invalid argument"):
		return fmt.Errorf("%s: %w", msg, errdefs.ErrInvalidArgument)
	case strings.Contains(msg, "must be stopped"), strings.Contains(msg, "still running"), strings.Contains(msg, "not running"),
		strings.Contains(msg, "no terminal"), strings.Contains(msg, "no log file"):
		return fmt.Errorf("%s: %w", msg, errdefs.ErrFailedPrecondition)
	}
	return fmt.Errorf("%s: %w", msg, errdefs.ErrUnknown)
}

// Create creates the init process.
func (c *Client) Create(req CreateRequest) (State, error) {
	var st State
	return st, c.call("Create", req, &st)
}

// Start starts a process.
func (c *Client) Start(execID string) (State, error) {
	var st State
	return st, c.call("Start", ProcessRequest{ExecID: execID}, &st)
}

// Exec adds an exec process.
func (c *Client) Exec(req ExecRequest) error { return c.call("Exec", req, &Empty{}) }

// State describes a process.
func (c *Client) State(execID string) (State, error) {
	var st State
	return st, c.call("State", ProcessRequest{ExecID: execID}, &st)
}

// Wait blocks until a process exited.
func (c *Client) Wait(execID string) (State, error) {
	var st State
	return st, c.call("Wait", ProcessRequest{ExecID: execID}, &st)
}

// Kill signals a process.
func (c *Client) Kill(req KillRequest) error { return c.call("Kill", req, &Empty{}) }

// Delete deletes a process or the task.
func (c *Client) Delete(execID string) (State, error) {
	var st State
	return st, c.call("Delete", ProcessRequest{ExecID: execID}, &st)
}

// Pids lists processes.
func (c *Client) Pids() (Pids, error) {
	var p Pids
	return p, c.call("Pids", Empty{}, &p)
}

// Pause freezes the container.
func (c *Client) Pause() error { return c.call("Pause", Empty{}, &Empty{}) }

// Resume thaws it.
func (c *Client) Resume() error { return c.call("Resume", Empty{}, &Empty{}) }

// ResizePty resizes a terminal.
func (c *Client) ResizePty(req ResizeRequest) error { return c.call("ResizePty", req, &Empty{}) }

// CloseIO closes stdin.
func (c *Client) CloseIO(execID string) error {
	return c.call("CloseIO", ProcessRequest{ExecID: execID}, &Empty{})
}

// Update changes resources.
func (c *Client) Update(req UpdateRequest) error { return c.call("Update", req, &Empty{}) }

// Stats returns cgroup figures.
func (c *Client) Stats() (Stats, error) {
	var s Stats
	return s, c.call("Stats", Empty{}, &s)
}

// ReopenLog reopens the init process's log file.
func (c *Client) ReopenLog() error { return c.call("ReopenLog", Empty{}, &Empty{}) }

// Exits returns the recorded exits.
func (c *Client) Exits() ([]Exit, error) {
	var e []Exit
	return e, c.call("Exits", Empty{}, &e)
}

// WaitOOM blocks until the container had more than after OOM kills.
func (c *Client) WaitOOM(after int) (int, error) {
	var n int
	return n, c.call("WaitOOM", after, &n)
}
