package events

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"

	apievents "github.com/containerd/containerd/api/events"
	"github.com/dgraph-io/badger/v4"
	"go.uber.org/zap"

	"berth.dev/pkg/store"
)

// TestOutboxUpdateUnderContention: many writers change one record at once
// (twenty pulls committing onto one parent snapshot), each with an event.
// Every change and every event must land; none may fail on the
// transactions' conflicts.
func TestOutboxUpdateUnderContention(t *testing.T) {
	db, err := store.Open(t.TempDir(), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ob, err := NewOutbox(db, "test", WithNode("n1"))
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	key := []byte("record")
	const workers, each = 32, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				errs <- ob.Update(context.Background(), func(txn *badger.Txn, rec *Recorder) error {
					var n uint64
					if item, err := txn.Get(key); err == nil {
						if err := item.Value(func(b []byte) error { n = binary.BigEndian.Uint64(b); return nil }); err != nil {
							return err
						}
					}
					if err := txn.Set(key, binary.BigEndian.AppendUint64(nil, n+1)); err != nil {
						return err
					}
					return rec.Add("default", TopicSnapshotCommit, &apievents.SnapshotCommit{Key: "k", Name: "n"})
				})
			}
		}()
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if err != nil {
			failed++
			if failed == 1 {
				t.Error(err)
			}
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d updates failed", failed, workers*each)
	}
	if n, err := ob.Pending(); err != nil || n != workers*each {
		t.Fatalf("%d events pending, want %d: %v", n, workers*each, err)
	}
}
