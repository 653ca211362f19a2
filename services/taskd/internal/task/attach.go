package task

import (
	"context"

	"berth.dev/services/taskd/internal/shim"
)

// ReopenLog makes the shim reopen the task's log file (the caller rotated
// it).
func (m *Manager) ReopenLog(ctx context.Context, id string) error {
	t, err := m.get(ctx, id)
	if err != nil {
		return err
	}
	return t.shim.ReopenLog()
}

// Attach joins the task's init process's live stdio.
func (m *Manager) Attach(ctx context.Context, id string) (*shim.AttachConn, error) {
	t, err := m.get(ctx, id)
	if err != nil {
		return nil, err
	}
	return t.shim.Attach("")
}
