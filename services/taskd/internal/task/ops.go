package task

import (
	"context"
	"fmt"

	apievents "github.com/containerd/containerd/api/events"
	tasksapi "github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/errdefs"
	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"berth.dev/pkg/events"
	"berth.dev/pkg/mount"
	"berth.dev/services/taskd/internal/shim"
)

// record adds one event for t.
func (m *Manager) record(ctx context.Context, t *Task, topic string, ev proto.Message) error {
	return m.outbox.Update(ctx, func(_ *badger.Txn, rec *events.Recorder) error {
		return rec.Add(t.NS, topic, ev)
	})
}

// Start starts the init process or an exec.
func (m *Manager) Start(ctx context.Context, id, execID string) (shim.State, error) {
	t, err := m.get(ctx, id)
	if err != nil {
		return shim.State{}, err
	}
	st, err := t.shim.Start(execID)
	if err != nil {
		if errdefs.IsAlreadyExists(err) {
			err = fmt.Errorf("task %q already started: %w", id, errdefs.ErrFailedPrecondition)
		}
		return st, err
	}
	if execID == "" {
		return st, m.record(ctx, t, events.TopicTaskStart, &apievents.TaskStart{ContainerID: id, Pid: uint32(st.Pid)})
	}
	go m.monitor(t, execID)
	return st, m.record(ctx, t, events.TopicTaskExecStarted, &apievents.TaskExecStarted{ContainerID: id, ExecID: execID, Pid: uint32(st.Pid)})
}

// Delete deletes a stopped task: the shim exits, the rootfs is unmounted
// and the bundle removed.
func (m *Manager) Delete(ctx context.Context, id string) (shim.State, error) {
	t, err := m.get(ctx, id)
	if err != nil {
		return shim.State{}, err
	}
	t.deleting.Store(true)
	st, err := t.shim.Delete("")
	switch {
	case err == nil:
		// The exit comes before the delete, whoever publishes it first.
		m.publishExit(t, shim.Exit{Pid: st.Pid, Status: st.ExitStatus, ExitedAt: st.ExitedAt})
	case errdefs.IsUnavailable(err):
		st = goneState(m.settleGone(t))
	default:
		t.deleting.Store(false)
		return st, err
	}
	// Exits the shim recorded that no monitor published yet (an exec's
	// whose monitor is late) go out now: once the record is gone, no late
	// caller may publish any more.
	exits, _ := shim.ReadExits(t.Bundle)
	for _, e := range exits {
		m.publishExit(t, e)
	}
	if err := mount.UnmountAll(t.Rootfs); err != nil {
		return st, err
	}
	m.retire(t)
	return st, m.recordDeleted(ctx, t, st)
}

// recordDeleted removes t's record and exit markers and records
// /tasks/delete: from then on no exit of t is published (publishExit).
func (m *Manager) recordDeleted(ctx context.Context, t *Task, st shim.State) error {
	return m.outbox.Update(ctx, func(txn *badger.Txn, rec *events.Recorder) error {
		if err := deleteRecord(txn, t); err != nil {
			return err
		}
		if err := dropMarkers(txn, t.NS, t.ID); err != nil {
			return err
		}
		return rec.Add(t.NS, events.TopicTaskDelete, &apievents.TaskDelete{ContainerID: t.ID, Pid: uint32(st.Pid),
			ExitStatus: st.ExitStatus, ExitedAt: timestamppb.New(st.ExitedAt)})
	})
}

// DeleteProcess removes a finished exec.
func (m *Manager) DeleteProcess(ctx context.Context, id, execID string) (shim.State, error) {
	t, err := m.get(ctx, id)
	if err != nil {
		return shim.State{}, err
	}
	if execID == "" {
		return shim.State{}, fmt.Errorf("delete the init process with Delete: %w", errdefs.ErrInvalidArgument)
	}
	st, err := t.shim.Delete(execID)
	if err != nil {
		return st, m.deadShimError(t, err, errdefs.ErrNotFound)
	}
	// Only the task's own deletion is a /tasks/delete, as in containerd.
	m.publishExit(t, shim.Exit{ExecID: execID, Pid: st.Pid, Status: st.ExitStatus, ExitedAt: st.ExitedAt})
	return st, nil
}

// State returns a process's state.
func (m *Manager) State(ctx context.Context, id, execID string) (*Task, shim.State, error) {
	t, err := m.get(ctx, id)
	if err != nil {
		return nil, shim.State{}, err
	}
	st, err := m.StateOf(t, execID)
	return t, st, err
}

// StateOf asks t's shim; the task of a shim that died reads as stopped, with
// the exit settled for it.
func (m *Manager) StateOf(t *Task, execID string) (shim.State, error) {
	st, err := t.shim.State(execID)
	if execID == "" && m.shimDied(t, err) {
		return goneState(m.settleGone(t)), nil
	}
	return st, m.deadShimError(t, err, errdefs.ErrNotFound)
}

// Wait blocks until a process exited; a dead shim's task has.
func (m *Manager) Wait(ctx context.Context, id, execID string) (shim.State, error) {
	t, err := m.get(ctx, id)
	if err != nil {
		return shim.State{}, err
	}
	type result struct {
		st  shim.State
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := t.shim.Wait(execID)
		if err != nil && execID == "" && m.shimDied(t, err) {
			st, err = goneState(m.settleGone(t)), nil
		}
		err = m.deadShimError(t, t.gone(err), errdefs.ErrNotFound)
		done <- result{st, err}
	}()
	select {
	case <-ctx.Done():
		return shim.State{}, ctx.Err()
	case r := <-done:
		return r.st, r.err
	}
}

// Kill signals a process.
func (m *Manager) Kill(ctx context.Context, id, execID string, signal uint32, all bool) error {
	if signal == 0 || signal > 64 {
		return fmt.Errorf("signal %d: %w", signal, errdefs.ErrInvalidArgument)
	}
	t, err := m.get(ctx, id)
	if err != nil {
		return err
	}
	err = t.gone(t.shim.Kill(shim.KillRequest{ExecID: execID, Signal: int(signal), All: all}))
	return m.deadShimError(t, err, errdefs.ErrNotFound)
}

// Exec adds a process to the task.
func (m *Manager) Exec(ctx context.Context, req *tasksapi.ExecProcessRequest) error {
	t, err := m.get(ctx, req.ContainerID)
	if err != nil {
		return err
	}
	if req.ExecID == "" || req.Spec == nil {
		return fmt.Errorf("exec needs an id and a process spec: %w", errdefs.ErrInvalidArgument)
	}
	stdio := shim.Stdio{Stdin: req.Stdin, Stdout: req.Stdout, Stderr: req.Stderr, Terminal: req.Terminal}
	if err := shim.ValidateStdio(stdio); err != nil {
		return err
	}
	st, err := m.StateOf(t, "")
	if err != nil {
		return err
	}
	if st.Status != shim.StatusRunning {
		return fmt.Errorf("task %q is %s: %w", req.ContainerID, st.Status, errdefs.ErrFailedPrecondition)
	}
	err = t.shim.Exec(shim.ExecRequest{ExecID: req.ExecID, Spec: req.Spec.Value, Stdio: stdio})
	if err != nil {
		return err
	}
	return m.record(ctx, t, events.TopicTaskExecAdded, &apievents.TaskExecAdded{ContainerID: req.ContainerID, ExecID: req.ExecID})
}

// Pause freezes the task.
func (m *Manager) Pause(ctx context.Context, id string) error {
	t, err := m.get(ctx, id)
	if err != nil {
		return err
	}
	if err := t.shim.Pause(); err != nil {
		return err
	}
	return m.record(ctx, t, events.TopicTaskPaused, &apievents.TaskPaused{ContainerID: id})
}

// Resume thaws the task.
func (m *Manager) Resume(ctx context.Context, id string) error {
	t, err := m.get(ctx, id)
	if err != nil {
		return err
	}
	if err := t.shim.Resume(); err != nil {
		return err
	}
	return m.record(ctx, t, events.TopicTaskResumed, &apievents.TaskResumed{ContainerID: id})
}

// Shim returns the task's shim client for the calls that need nothing else.
func (m *Manager) Shim(ctx context.Context, id string) (*shim.Client, error) {
	t, err := m.get(ctx, id)
	if err != nil {
		return nil, err
	}
	return t.shim, nil
}
