package storetest

import (
	"context"
	"testing"

	apievents "github.com/containerd/containerd/api/events"
	"github.com/dgraph-io/badger/v4"

	"berth.dev/pkg/events"
)

// The outbox records into the database the test was handed: a change and
// its event written through one are both there.
func TestOpenWithOutboxSharesTheDatabase(t *testing.T) {
	db, ob := OpenWithOutbox(t, "test")
	err := ob.Update(context.Background(), func(txn *badger.Txn, rec *events.Recorder) error {
		if err := txn.Set([]byte("k"), []byte("v")); err != nil {
			return err
		}
		return rec.Add("default", events.TopicNamespaceCreate, &apievents.NamespaceCreate{Name: "default"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.View(func(txn *badger.Txn) error { _, err := txn.Get([]byte("k")); return err }); err != nil {
		t.Fatalf("the record written through the outbox: %v", err)
	}
	if n, err := ob.Pending(); err != nil || n != 1 {
		t.Fatalf("pending events %d, %v; want the one recorded", n, err)
	}
}
