package snapshot

import (
	"testing"

	"berth.dev/pkg/store/storetest"
)

func newManager(t *testing.T) *Manager {
	db, ob := storetest.OpenWithOutbox(t, "test")
	m, err := New(db, ob, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return m
}
