package task

import (
	"context"
	"os"
	"time"

	"go.uber.org/zap"

	"berth.dev/pkg/log"
)

// shimExitTimeout bounds how long a deleted task's shim may take to run
// the runtime's delete and exit before taskd kills it.
const shimExitTimeout = 10 * time.Second

// retire forgets a deleted task at once and finishes it in the
// background: its shim runs the runtime's delete after answering, and the
// bundle (which holds the shim's logs and socket) goes once the shim is
// gone. Deleting a task so costs its caller no runtime process.
func (m *Manager) retire(t *Task) {
	key := taskKey(t.NS, t.ID)
	done := make(chan struct{})
	m.mu.Lock()
	delete(m.tasks, key)
	m.leaving[key] = done
	m.mu.Unlock()
	finish := func() {
		defer close(done)
		select {
		case <-t.shim.Gone():
		case <-time.After(shimExitTimeout):
			log.G(m.ctx).Warn("shim did not exit after delete; killing it", zap.String("namespace", t.NS), zap.String("id", t.ID))
			t.shim.KillProcess()
		}
		t.shim.Close()
		removeBundle(t.Bundle)
		// A shim that died could not remove its socket.
		os.Remove(m.socket(t.Bundle))
		m.mu.Lock()
		if m.leaving[key] == done {
			delete(m.leaving, key)
		}
		m.mu.Unlock()
	}
	select {
	case <-t.shim.Gone():
		finish() // the shim is gone already (it died): nothing to wait for
	default:
		go finish()
	}
}

// waitLeft waits until a deleted task of the same id has finished leaving.
func (m *Manager) waitLeft(ctx context.Context, ns, id string) error {
	m.mu.Lock()
	done, ok := m.leaving[taskKey(ns, id)]
	m.mu.Unlock()
	if !ok {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
