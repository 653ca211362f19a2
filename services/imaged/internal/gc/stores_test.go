package gc

import (
	"testing"

	"github.com/dgraph-io/badger/v4"
	"go.uber.org/zap"

	"berth.dev/pkg/events"
	"berth.dev/pkg/store"
	"berth.dev/services/imaged/internal/content"
)

// newStores opens a database and a content store on it in temporary
// directories, closed when the test ends.
func newStores(t *testing.T) (*badger.DB, *content.Store) {
	t.Helper()
	db, err := store.Open(t.TempDir(), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ob, err := events.NewOutbox(db, "test")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := content.New(t.TempDir(), db, ob)
	if err != nil {
		t.Fatal(err)
	}
	return db, cs
}
