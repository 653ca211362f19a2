package snapshot

import (
	"testing"

	"go.uber.org/zap"

	"berth.dev/pkg/events"
	"berth.dev/pkg/store"
)

func newManager(t *testing.T) *Manager {
	db, err := store.Open(t.TempDir(), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ob, err := events.NewOutbox(db, "test")
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(db, ob, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return m
}
