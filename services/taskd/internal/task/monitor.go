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

// monitor waits for a process to exit and publishes its exit once.
func (m *Manager) monitor(t *Task, execID string) {
	st, err := t.shim.Wait(execID)
	if err != nil {
		if !errdefs.IsNotFound(err) && m.ctx.Err() == nil {
			log.G(m.ctx).Warn("lost track of process", zap.String("id", t.ID), zap.String("exec", execID), zap.Error(err))
		}
		return
	}
	m.publishExit(t.NS, t.ID, shim.Exit{ExecID: execID, Pid: st.Pid, Status: st.ExitStatus, ExitedAt: st.ExitedAt})
}

// publishExit records /tasks/exit unless this exit was published before.
func (m *Manager) publishExit(ns, id string, e shim.Exit) {
	execID := e.ExecID
	if execID == "" {
		execID = id
	}
	err := m.outbox.Update(m.ctx, func(txn *badger.Txn, rec *events.Recorder) error {
		marker := exitMarker(ns, id, e.ExecID, e.Pid)
		if _, err := txn.Get(marker); err == nil {
			return nil
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		if err := txn.Set(marker, nil); err != nil {
			return err
		}
		return rec.Add(ns, events.TopicTaskExit, &apievents.TaskExit{ContainerID: id, ID: execID, Pid: uint32(e.Pid),
			ExitStatus: e.Status, ExitedAt: timestamppb.New(e.ExitedAt)})
	})
	if err != nil {
		log.G(m.ctx).Error("recording exit", zap.String("id", id), zap.Error(err))
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
