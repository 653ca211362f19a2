package cri

import "sync"

// idLocks orders work on one container: its start is recorded (and
// announced) before an exit that raced with it.
type idLocks struct{ m sync.Map }

func (l *idLocks) lock(id string) func() {
	v, _ := l.m.LoadOrStore(id, &sync.Mutex{})
	mu := v.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// forget drops a removed container's lock.
func (l *idLocks) forget(id string) { l.m.Delete(id) }
