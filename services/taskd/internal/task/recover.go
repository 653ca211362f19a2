package task

import (
	"time"

	"go.uber.org/zap"

	"berth.dev/pkg/log"
	"berth.dev/pkg/namespace"
	"berth.dev/services/taskd/internal/shim"
)

// Recover reconnects to the shims of a previous run, publishes the exits
// they recorded while taskd was down, and resumes watching the rest. A task
// whose shim is gone is settled as one whose shim dies while taskd runs
// (settleGone) and then deleted, as containerd cleans up after the shims it
// cannot reload. What a previous run started but never recorded (it was
// killed mid-create) is removed: see removeUnrecorded.
func (m *Manager) Recover() error {
	recs, err := records(m.db)
	if err != nil {
		return err
	}
	start := time.Now()
	parallel(len(recs), shimCalls, func(i int) { m.reconnect(recs[i]) })
	m.removeUnrecorded(recs)
	log.G(m.ctx).Info("tasks recovered", zap.Int("tasks", len(recs)), zap.Duration("took", time.Since(start)))
	return nil
}

// reconnect resumes watching the task of r, or cleans it up if its shim is
// gone.
func (m *Manager) reconnect(r record) {
	t := &Task{NS: r.NS, ID: r.ID, Bundle: r.Bundle, Rootfs: r.Rootfs, Runtime: r.Runtime, instance: r.Instance}
	m.mu.Lock()
	m.tasks[taskKey(r.NS, r.ID)] = t
	m.mu.Unlock()
	client, err := shim.Connect(r.Bundle, m.socket(r.Bundle))
	if err != nil {
		log.G(m.ctx).Warn("shim gone; cleaning its task up", zap.String("namespace", r.NS), zap.String("id", r.ID), zap.Error(err))
		t.shim = &shim.Client{Dir: r.Bundle, Socket: m.socket(r.Bundle)}
		t.ready.Store(true)
		if err := m.cleanupGone(t); err != nil {
			log.G(m.ctx).Error("cleaning up a task whose shim is gone", zap.String("id", r.ID), zap.Error(err))
		}
		return
	}
	t.shim = client
	t.ready.Store(true)
	// The exit log is read from disk rather than asked of the shim: a
	// connection wakes nothing up, a call wakes an idle shim, and with
	// hundreds of them those wake-ups are most of a restart.
	exits, err := shim.ReadExits(r.Bundle)
	if err != nil {
		log.G(m.ctx).Warn("reading a shim's exit log", zap.String("namespace", r.NS), zap.String("id", r.ID), zap.Error(err))
	}
	for _, e := range exits {
		m.publishExit(t, e)
	}
	go m.monitor(t, "")
	go m.watchOOM(t)
	log.G(m.ctx).Debug("reconnected to shim", zap.String("namespace", r.NS), zap.String("id", r.ID))
}

// cleanupGone deletes a task whose shim died while taskd was down, with
// its exit settled first.
func (m *Manager) cleanupGone(t *Task) error {
	m.settleGone(t)
	ctx := namespace.WithNamespace(m.ctx, t.NS)
	_, err := m.Delete(ctx, t.ID)
	return err
}
