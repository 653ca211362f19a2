package shim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	runc "github.com/containerd/go-runc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Delete removes an exec (ExecID set) or the container; after the container
// is deleted the shim exits.
func (s *Service) Delete(req ProcessRequest, st *State) error {
	p, err := s.process(req.ExecID)
	if err != nil {
		return err
	}
	cur := p.state()
	if req.ExecID != "" {
		if cur.Status != StatusStopped && cur.Status != StatusCreated {
			return fmt.Errorf("exec %q is still running", req.ExecID)
		}
		s.mu.Lock()
		delete(s.procs, req.ExecID)
		delete(s.byPid, cur.Pid)
		s.mu.Unlock()
		*st = cur
		return nil
	}
	if cur.Status != StatusStopped && cur.Status != StatusCreated {
		return fmt.Errorf("task must be stopped before deletion: %s", cur.Status)
	}
	if cur.Status == StatusStopped {
		// The exit is recorded and nothing of the container runs: the
		// runtime's own cleanup (its state, the cgroup) needs no caller.
		// taskd waits for the shim to exit before it reuses the id.
		*st = cur
		go func() {
			if err := s.deleteContainer(p); err != nil {
				fmt.Fprintln(os.Stderr, "berth-shim: delete:", err)
			}
			// The exit may still be on its way to the exit log (its output
			// draining): the shim stays until it is written.
			select {
			case <-p.recorded:
			case <-time.After(10 * time.Second):
			}
			s.stop()
		}()
		return nil
	}
	if err := s.deleteContainer(p); err != nil {
		return err
	}
	// Never started: the init process was killed by the delete.
	select {
	case <-p.recorded:
	default:
		s.finish(p, 137, timeNow())
	}
	*st = p.state()
	s.stop()
	return nil
}

// deleteContainer has the runtime forget the container (killing what is
// left of it) and lets the init process's logger finish.
func (s *Service) deleteContainer(p *process) error {
	if err := s.runc.Delete(context.Background(), s.id, &runc.DeleteOpts{Force: true}); err != nil && !strings.Contains(err.Error(), "does not exist") {
		return s.runtimeError(err)
	}
	if p.stdio != nil && p.stdio.logger != nil {
		// The logger is the shim's child: let it finish before the shim goes.
		select {
		case <-p.stdio.logger.exited:
		case <-time.After(loggerStopTimeout + 2*time.Second):
		}
	}
	return nil
}

// Shutdown ends a shim whose task could not be created: whatever runc made
// of the container is deleted (killing its processes), the process's stdio
// is released, and the shim exits, leaving nothing behind.
func (s *Service) Shutdown(_ Empty, _ *Empty) error {
	err := s.runc.Delete(context.Background(), s.id, &runc.DeleteOpts{Force: true})
	if err != nil && strings.Contains(err.Error(), "does not exist") {
		err = nil
	}
	s.mu.Lock()
	init := s.procs[""]
	s.mu.Unlock()
	if init != nil && init.stdio != nil {
		init.stdio.abort()
	}
	s.stop()
	return s.runtimeError(err)
}

// ReopenLog reopens the init process's log file (log rotation).
func (s *Service) ReopenLog(_ Empty, _ *Empty) error {
	p, err := s.process("")
	if err != nil {
		return err
	}
	if st := p.state().Status; st != StatusRunning && st != StatusPaused {
		return fmt.Errorf("task is %s, not running", st)
	}
	return p.stdio.reopenLogs()
}

// Pids lists the container's processes.
func (s *Service) Pids(_ Empty, out *Pids) error {
	pids, err := s.runc.Ps(context.Background(), s.id)
	if err != nil {
		return s.runtimeError(err)
	}
	out.Pids = pids
	out.Exec = map[int]string{}
	s.mu.Lock()
	for pid, p := range s.byPid {
		if p.execID != "" {
			out.Exec[pid] = p.execID
		}
	}
	s.mu.Unlock()
	return nil
}

// Pause freezes the container. The shim remembers it, so State answers
// without asking runc.
func (s *Service) Pause(_ Empty, _ *Empty) error {
	return s.freeze(s.runc.Pause, StatusPaused)
}

// Resume thaws the container.
func (s *Service) Resume(_ Empty, _ *Empty) error {
	return s.freeze(s.runc.Resume, StatusRunning)
}

func (s *Service) freeze(op func(context.Context, string) error, status string) error {
	p, err := s.process("")
	if err != nil {
		return err
	}
	if err := op(context.Background(), s.id); err != nil {
		return s.runtimeError(err)
	}
	p.setStatus(status)
	return nil
}

// ResizePty resizes a process's terminal.
func (s *Service) ResizePty(req ResizeRequest, _ *Empty) error {
	p, err := s.process(req.ExecID)
	if err != nil {
		return err
	}
	if p.stdio == nil {
		return fmt.Errorf("process has no terminal")
	}
	if p.state().Status == StatusStopped {
		// ctr resizes once more as it detaches; the pty is gone by then.
		return nil
	}
	return p.stdio.resize(req.Width, req.Height)
}

// CloseIO closes a process's stdin.
func (s *Service) CloseIO(req ProcessRequest, _ *Empty) error {
	p, err := s.process(req.ExecID)
	if err != nil {
		return err
	}
	if p.stdio != nil {
		p.stdio.closeStdin()
	}
	return nil
}

// Update changes the container's resources.
func (s *Service) Update(req UpdateRequest, _ *Empty) error {
	var res specs.LinuxResources
	if err := json.Unmarshal(req.Resources, &res); err != nil {
		return fmt.Errorf("resources: %w", err)
	}
	return s.runtimeError(s.runc.Update(context.Background(), s.id, &res))
}

// Stats returns the container's cgroup figures.
func (s *Service) Stats(_ Empty, out *Stats) error {
	st, err := s.runc.Stats(context.Background(), s.id)
	if err != nil {
		return s.runtimeError(err)
	}
	out.JSON, err = json.Marshal(st)
	return err
}

// Exits lists the exits recorded on disk and not yet acknowledged.
func (s *Service) Exits(_ Empty, out *[]Exit) error {
	exits, err := s.exits.read()
	*out = exits
	return err
}

// runtimeError keeps the runtime's own message (from its log) so it
// reaches the caller verbatim, after the runtime's name (runc, crun).
func (s *Service) runtimeError(err error) error {
	if err == nil {
		return nil
	}
	name := filepath.Base(s.runtime)
	if b, rerr := os.ReadFile(s.bundle + "/runc.log"); rerr == nil {
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		var entry struct{ Msg string }
		if json.Unmarshal([]byte(lines[len(lines)-1]), &entry) == nil && entry.Msg != "" {
			return errors.New(name + ": " + entry.Msg)
		}
	}
	return fmt.Errorf("%s: %w", name, err)
}
