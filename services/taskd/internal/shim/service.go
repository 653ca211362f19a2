package shim

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	runc "github.com/containerd/go-runc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Service is the shim's API.
type Service struct {
	id, bundle string
	namespace  string
	socket     string
	runc       *runc.Runc
	runtime    string // the runtime binary go-runc drives (runc, crun)
	// legacyView runs the runtime's create in the legacy cgroup view (crun
	// checks the host's cgroup layout only to place a new container; every
	// other command runs it directly).
	legacyView bool
	reaper     *reaper
	exits      *exitLog
	shutdown   chan struct{}
	stopOnce   sync.Once
	// calls counts requests being answered, so the shim exits only once
	// the answer to the call that stopped it is written.
	calls sync.WaitGroup

	mu    sync.Mutex
	procs map[string]*process // "" is init
	byPid map[int]*process
	ooms  int
	oomCh chan struct{}
}

// Config says what the shim runs.
type Config struct {
	ID, Bundle, Runtime, RuntimeRoot string
	// Socket is where the shim listens (SocketPath).
	Socket string
	// Namespace is the container's, for binary:// loggers.
	Namespace string
	// LegacyCgroupView runs the runtime without the host's unified cgroup
	// mount (crun on a hybrid host; see inLegacyView).
	LegacyCgroupView bool
	// SystemdCgroup tells the runtime that the spec's cgroups path names a
	// systemd unit ("slice:prefix:name") for it to create.
	SystemdCgroup bool
}

// Args are the shim's command line for cfg; berth-shim parses them back
// (a test keeps the two in step).
func (cfg Config) Args() []string {
	args := []string{"-id", cfg.ID, "-bundle", cfg.Bundle, "-runtime", cfg.Runtime, "-runtime-root", cfg.RuntimeRoot,
		"-socket", cfg.Socket, "-namespace", cfg.Namespace}
	if cfg.LegacyCgroupView {
		args = append(args, "-legacy-cgroup-view")
	}
	if cfg.SystemdCgroup {
		args = append(args, "-systemd-cgroup")
	}
	return args
}

// NewService prepares a shim for the container in cfg.Bundle.
func NewService(cfg Config) (*Service, error) {
	if err := becomeSubreaper(); err != nil {
		return nil, fmt.Errorf("subreaper: %w", err)
	}
	s := &Service{
		id: cfg.ID, bundle: cfg.Bundle, runtime: cfg.Runtime, socket: cfg.Socket, namespace: cfg.Namespace, shutdown: make(chan struct{}),
		procs: map[string]*process{}, byPid: map[int]*process{}, oomCh: make(chan struct{}),
		exits: &exitLog{path: filepath.Join(cfg.Bundle, ExitsName)},
		runc: &runc.Runc{Command: cfg.Runtime, Root: cfg.RuntimeRoot, Log: filepath.Join(cfg.Bundle, "runc.log"),
			LogFormat: runc.JSON, Setpgid: true, SystemdCgroup: cfg.SystemdCgroup},
		legacyView: cfg.LegacyCgroupView,
	}
	s.reaper = newReaper(s.processExited)
	runc.Monitor = s.reaper
	go s.reaper.run()
	return s, nil
}

// WaitCalls waits, at most d, for the answers of calls in flight.
func (s *Service) WaitCalls(d time.Duration) {
	done := make(chan struct{})
	go func() { s.calls.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// Done closes when the task was deleted and the shim should exit.
func (s *Service) Done() <-chan struct{} { return s.shutdown }

// stop makes Serve return, so the shim exits.
func (s *Service) stop() { s.stopOnce.Do(func() { close(s.shutdown) }) }

func (s *Service) ids() processIDs { return processIDs{ID: s.id, Namespace: s.namespace} }

func (s *Service) process(execID string) (*process, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.procs[execID]
	if !ok {
		return nil, fmt.Errorf("process %q not found", execID)
	}
	return p, nil
}

// processExited is the reaper's callback for container processes.
func (s *Service) processExited(pid, status int) bool {
	s.mu.Lock()
	p, ok := s.byPid[pid]
	s.mu.Unlock()
	if !ok {
		return false
	}
	go s.finish(p, status, time.Now())
	return true
}

// finish waits for the process's output, writes the exit to disk, and only
// then makes it visible.
func (s *Service) finish(p *process, status int, at time.Time) {
	if !p.exitedWith(status, at) {
		return
	}
	if p.stdio != nil {
		done := make(chan struct{})
		go func() { p.stdio.wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			// A process left behind holds the output open; report anyway.
		}
	}
	s.exits.add(*p.exit)
	close(p.recorded)
}

func (s *Service) register(p *process, pidFile string) error {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return fmt.Errorf("read pid file: %w", err)
	}
	pid, err := strconv.Atoi(string(b))
	if err != nil {
		return fmt.Errorf("pid file %s: %w", pidFile, err)
	}
	p.mu.Lock()
	p.pid = pid
	p.mu.Unlock()
	s.mu.Lock()
	s.byPid[pid] = p
	s.mu.Unlock()
	// It may have exited before we knew its pid.
	if e, ok := s.reaper.claim(pid); ok {
		go s.finish(p, e.Status, e.Timestamp)
	}
	return nil
}

// Create runs `runc create` for the init process.
func (s *Service) Create(req CreateRequest, st *State) error {
	p := newProcess("", req.Stdio)
	io, err := newStdio(req.Stdio, s.ids())
	if err != nil {
		return err
	}
	p.stdio = io
	pidFile := filepath.Join(s.bundle, "init.pid")
	opts := &runc.CreateOpts{PidFile: pidFile, IO: io.runcIO()}
	if io.socket != nil {
		opts.ConsoleSocket = io.socket
	}
	create := func() error { return s.runc.Create(context.Background(), s.id, s.bundle, opts) }
	if s.legacyView {
		create = func() error {
			return inLegacyView(func() error { return s.runc.Create(context.Background(), s.id, s.bundle, opts) })
		}
	}
	if err := create(); err != nil {
		io.abort()
		return s.runtimeError(err)
	}
	if err := io.start(); err != nil {
		io.abort()
		return err
	}
	s.mu.Lock()
	s.procs[""] = p
	s.mu.Unlock()
	if err := s.register(p, pidFile); err != nil {
		return err
	}
	s.watchOOM()
	*st = p.state()
	return nil
}

// Start starts the init process or an exec.
func (s *Service) Start(req ProcessRequest, st *State) error {
	p, err := s.process(req.ExecID)
	if err != nil {
		return err
	}
	if req.ExecID == "" {
		if p.state().Status != StatusCreated {
			return fmt.Errorf("task already started")
		}
		if err := s.runc.Start(context.Background(), s.id); err != nil {
			return s.runtimeError(err)
		}
		p.setStatus(StatusRunning)
	} else if err := s.startExec(p); err != nil {
		return err
	}
	*st = p.state()
	return nil
}

// Exec registers an exec process; Start runs it.
func (s *Service) Exec(req ExecRequest, _ *Empty) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.procs[req.ExecID]; ok || req.ExecID == "" {
		return fmt.Errorf("exec %q already exists", req.ExecID)
	}
	init, ok := s.procs[""]
	if !ok || init.state().Status == StatusStopped {
		return fmt.Errorf("task is not running")
	}
	p := newProcess(req.ExecID, req.Stdio)
	p.spec = req.Spec
	s.procs[req.ExecID] = p
	return nil
}

func (s *Service) startExec(p *process) error {
	var spec specs.Process
	if err := json.Unmarshal(p.spec, &spec); err != nil {
		return fmt.Errorf("exec spec: %w", err)
	}
	io, err := newStdio(p.paths, s.ids())
	if err != nil {
		return err
	}
	p.stdio = io
	pidFile := filepath.Join(s.bundle, "exec-"+p.execID+".pid")
	opts := &runc.ExecOpts{PidFile: pidFile, IO: io.runcIO(), Detach: true}
	if io.socket != nil {
		opts.ConsoleSocket = io.socket
	}
	if err := s.runc.Exec(context.Background(), s.id, spec, opts); err != nil {
		io.abort()
		return s.runtimeError(err)
	}
	if err := io.start(); err != nil {
		return err
	}
	if err := s.register(p, pidFile); err != nil {
		return err
	}
	p.setStatus(StatusRunning)
	return nil
}

// State describes a process.
func (s *Service) State(req ProcessRequest, st *State) error {
	p, err := s.process(req.ExecID)
	if err != nil {
		return err
	}
	*st = p.state()
	return nil
}

// Wait blocks until a process's exit is recorded.
func (s *Service) Wait(req ProcessRequest, st *State) error {
	p, err := s.process(req.ExecID)
	if err != nil {
		return err
	}
	<-p.recorded
	*st = p.state()
	return nil
}

// Kill signals a process (with All, every process of the container).
func (s *Service) Kill(req KillRequest, _ *Empty) error {
	p, err := s.process(req.ExecID)
	if err != nil {
		return err
	}
	st := p.state()
	if st.Status == StatusStopped {
		return fmt.Errorf("process already finished: not found")
	}
	if req.ExecID != "" {
		return syscall.Kill(st.Pid, syscall.Signal(req.Signal))
	}
	if err := s.runc.Kill(context.Background(), s.id, req.Signal, &runc.KillOpts{All: req.All}); err != nil {
		// The process exited while the runtime was asked, and the
		// runtime's cleanup after the task's deletion may have removed
		// what it looked for (the cgroup): the process is finished, as a
		// kill a moment later would be told.
		if p.state().Status == StatusStopped {
			return fmt.Errorf("process already finished: not found")
		}
		return s.runtimeError(err)
	}
	return nil
}
