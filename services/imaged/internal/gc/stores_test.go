package gc

import (
	"testing"

	"github.com/dgraph-io/badger/v4"

	"berth.dev/pkg/store/storetest"
	"berth.dev/services/imaged/internal/content"
)

// newStores opens a database and a content store on it in temporary
// directories, closed when the test ends.
func newStores(t *testing.T) (*badger.DB, *content.Store) {
	t.Helper()
	db, ob := storetest.OpenWithOutbox(t, "test")
	cs, err := content.New(t.TempDir(), db, ob)
	if err != nil {
		t.Fatal(err)
	}
	return db, cs
}
