package shim

import (
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"time"

	runc "github.com/containerd/go-runc"
	"golang.org/x/sys/unix"
)

// reaper reaps every child (the shim is a subreaper) and routes each exit
// either to go-runc, waiting for a runc command it started, or to the
// shim's process table.
type reaper struct {
	mu sync.Mutex
	// cmds are runc invocations waiting for their exit.
	cmds map[int]chan runc.Exit
	// early keeps exits that arrived before anyone asked for them.
	early map[int]runc.Exit
	// onExit receives exits of processes that are not runc commands; it
	// reports false for a pid it does not know (yet).
	onExit func(pid, status int) bool
	sigs   chan os.Signal
}

// newReaper listens for SIGCHLD at once, before any child can start: a
// SIGCHLD that comes before anyone listens is dropped, and the child it
// announced stays a zombie nobody reaps. On a loaded node the goroutine
// running the reaper used to start listening only after the first runtime
// command had exited, and the task's create waited for that exit forever.
func newReaper(onExit func(pid, status int) bool) *reaper {
	r := &reaper{cmds: map[int]chan runc.Exit{}, early: map[int]runc.Exit{}, onExit: onExit, sigs: make(chan os.Signal, 32)}
	signal.Notify(r.sigs, unix.SIGCHLD)
	return r
}

// run reaps on SIGCHLD until the process ends (or stop).
func (r *reaper) run() {
	for range r.sigs {
		r.reap()
	}
}

// stop ends run.
func (r *reaper) stop() {
	signal.Stop(r.sigs)
	close(r.sigs)
}

func (r *reaper) reap() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
		status := ws.ExitStatus()
		if ws.Signaled() {
			status = 128 + int(ws.Signal())
		}
		exit := runc.Exit{Pid: pid, Status: status, Timestamp: time.Now()}
		r.mu.Lock()
		ch, isCmd := r.cmds[pid]
		delete(r.cmds, pid)
		r.mu.Unlock()
		if isCmd {
			ch <- exit
			continue
		}
		if !r.onExit(pid, status) {
			r.mu.Lock()
			r.early[pid] = exit
			r.mu.Unlock()
		}
	}
}

// Start implements runc.Monitor.
func (r *reaper) Start(c *exec.Cmd) (chan runc.Exit, error) {
	ch := make(chan runc.Exit, 1)
	// Hold the lock across start so the exit cannot be reaped before the
	// pid is known.
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := c.Start(); err != nil {
		return nil, err
	}
	r.cmds[c.Process.Pid] = ch
	return ch, nil
}

// StartLocked implements runc.Monitor.
func (r *reaper) StartLocked(c *exec.Cmd) (chan runc.Exit, error) { return r.Start(c) }

// Wait implements runc.Monitor.
func (r *reaper) Wait(c *exec.Cmd, ch chan runc.Exit) (int, error) {
	e := <-ch
	// The reaper already collected the exit, so Wait itself fails, but it
	// still waits for exec.Cmd's goroutines copying the command's output
	// into go-runc's buffer (runc ps, runc state): without it the caller
	// can read that buffer before the output arrived, which under CPU load
	// made `runc ps` look empty ("unexpected end of JSON input").
	c.Wait()
	return e.Status, nil
}

// claim returns an exit that happened before pid was registered.
func (r *reaper) claim(pid int) (runc.Exit, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.early[pid]
	if ok {
		delete(r.early, pid)
	}
	return e, ok
}

// becomeSubreaper makes orphaned container processes our children.
func becomeSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}
