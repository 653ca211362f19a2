package task

import (
	"go.uber.org/zap"

	"berth.dev/pkg/log"
	"berth.dev/services/taskd/internal/shim"
)

// Recover reconnects to the shims of a previous run, publishes the exits
// they recorded while taskd was down, and resumes watching the rest. A task
// whose shim is gone stays listed as stopped until it is deleted.
func (m *Manager) Recover() error {
	recs, err := records(m.db)
	if err != nil {
		return err
	}
	for _, r := range recs {
		t := &Task{NS: r.NS, ID: r.ID, Bundle: r.Bundle, Rootfs: r.Rootfs, Runtime: r.Runtime}
		m.mu.Lock()
		m.tasks[taskKey(r.NS, r.ID)] = t
		m.mu.Unlock()
		client, err := shim.Connect(r.Bundle)
		if err != nil {
			log.G(m.ctx).Warn("shim gone; task left stopped", zap.String("namespace", r.NS), zap.String("id", r.ID), zap.Error(err))
			exits, _ := shim.ReadExits(r.Bundle)
			for _, e := range exits {
				m.publishExit(r.NS, r.ID, e)
			}
			t.shim = &shim.Client{Dir: r.Bundle}
			continue
		}
		t.shim = client
		exits, err := client.Exits()
		if err == nil {
			for _, e := range exits {
				m.publishExit(r.NS, r.ID, e)
			}
		}
		go m.monitor(t, "")
		go m.watchOOM(t)
		log.G(m.ctx).Info("reconnected to shim", zap.String("namespace", r.NS), zap.String("id", r.ID))
	}
	return nil
}
