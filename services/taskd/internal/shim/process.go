package shim

import (
	"sync"
	"time"
)

// process is the init process or an exec.
type process struct {
	execID string
	stdio  *stdio
	paths  Stdio
	spec   []byte

	mu       sync.Mutex
	pid      int
	status   string
	exit     *Exit
	exited   chan struct{}
	recorded chan struct{}
}

func newProcess(execID string, paths Stdio) *process {
	return &process{execID: execID, paths: paths, status: StatusCreated, exited: make(chan struct{}), recorded: make(chan struct{})}
}

func (p *process) state() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := State{ExecID: p.execID, Pid: p.pid, Status: p.status, Stdio: p.paths}
	if p.exit != nil {
		st.Status = StatusStopped
		st.ExitStatus = p.exit.Status
		st.ExitedAt = p.exit.ExitedAt
	}
	return st
}

func (p *process) setStatus(s string) {
	p.mu.Lock()
	if p.exit == nil {
		p.status = s
	}
	p.mu.Unlock()
}

// exitedWith records the exit once.
func (p *process) exitedWith(status int, at time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exit != nil {
		return false
	}
	p.exit = &Exit{ExecID: p.execID, Pid: p.pid, Status: uint32(status), ExitedAt: at}
	p.status = StatusStopped
	close(p.exited)
	return true
}
