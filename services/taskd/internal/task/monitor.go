package task

import (
	"errors"

	apievents "github.com/containerd/containerd/api/events"
	"github.com/containerd/errdefs"
	"github.com/dgraph-io/badger/v4"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"

	"berth.dev/pkg/events"
	"berth.dev/pkg/log"
	"berth.dev/services/taskd/internal/shim"
)

// monitor waits for a process to exit and publishes its exit once. When
// the shim dies instead, the init process's monitor settles the task.
func (m *Manager) monitor(t *Task, execID string) {
	st, err := t.shim.Wait(execID)
	if err != nil {
		switch {
		case m.ctx.Err() != nil || errdefs.IsNotFound(err):
		case execID == "" && m.shimDied(t, err):
			log.G(m.ctx).Warn("shim died; its task is stopped", zap.String("namespace", t.NS), zap.String("id", t.ID))
			m.settleGone(t)
		default:
			log.G(m.ctx).Warn("lost track of process", zap.String("id", t.ID), zap.String("exec", execID), zap.Error(err))
		}
		return
	}
	m.publishExit(t, shim.Exit{ExecID: execID, Pid: st.Pid, Status: st.ExitStatus, ExitedAt: st.ExitedAt})
}

// publishExit records /tasks/exit unless this exit was published before or
// its task is deleted. Every path that learns of an exit (the monitor, a
// Delete, a dead shim's exit log, recovery) comes here: the marker,
// written in the same transaction, makes the first one win, and the record
// check keeps a late caller from publishing after Delete dropped the
// markers with the task. The event is keyed by the exit, so even a second
// outbox entry would be one message on the stream.
func (m *Manager) publishExit(t *Task, e shim.Exit) {
	execID := e.ExecID
	if execID == "" {
		execID = t.ID
	}
	err := m.outbox.Update(m.ctx, func(txn *badger.Txn, rec *events.Recorder) error {
		if live, err := liveRecord(txn, t); err != nil || !live {
			return err
		}
		marker := exitMarker(t.NS, t.ID, e.ExecID, e.Pid)
		if _, err := txn.Get(marker); err == nil {
			return nil
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		if err := txn.Set(marker, nil); err != nil {
			return err
		}
		return rec.AddKeyed(t.NS, events.TopicTaskExit, exitKey(t, e), &apievents.TaskExit{ContainerID: t.ID, ID: execID,
			Pid: uint32(e.Pid), ExitStatus: e.Status, ExitedAt: timestamppb.New(e.ExitedAt)})
	})
	if err != nil {
		log.G(m.ctx).Error("recording exit", zap.String("id", t.ID), zap.Error(err))
	}
}

// dropMarkers forgets a deleted task's exit markers.
func dropMarkers(txn *badger.Txn, ns, id string) error {
	p := exitMarkerPrefix(ns, id)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(p)})
	var keys [][]byte
	for it.Rewind(); it.Valid(); it.Next() {
		if hasPrefix(it.Item().Key(), p) {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
	}
	it.Close()
	for _, k := range keys {
		if err := txn.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// watchOOM publishes /tasks/oom for each OOM kill the shim sees.
func (m *Manager) watchOOM(t *Task) {
	seen := 0
	for {
		n, err := t.shim.WaitOOM(seen)
		if err != nil {
			return
		}
		seen = n
		if err := m.record(m.ctx, t, events.TopicTaskOOM, &apievents.TaskOOM{ContainerID: t.ID}); err != nil {
			log.G(m.ctx).Error("recording oom", zap.String("id", t.ID), zap.Error(err))
		}
	}
}
