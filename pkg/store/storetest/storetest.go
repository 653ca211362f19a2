package storetest

import (
	"testing"

	"github.com/dgraph-io/badger/v4"
	"go.uber.org/zap"

	"berth.dev/pkg/events"
	"berth.dev/pkg/store"
)

// Open opens a database in a temporary directory, closed when the test
// ends.
func Open(t testing.TB) *badger.DB {
	t.Helper()
	db, err := store.Open(t.TempDir(), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// OpenWithOutbox opens a database as Open does and an outbox on it whose
// events name source; the outbox is closed before the database.
func OpenWithOutbox(t testing.TB, source string, opts ...events.OutboxOption) (*badger.DB, *events.Outbox) {
	t.Helper()
	db := Open(t)
	ob, err := events.NewOutbox(db, source, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ob.Close() })
	return db, ob
}
