package store

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/dgraph-io/badger/v4"
)

// TestUpdateRetriesConflicts increments one counter from many goroutines at
// once: some of their transactions meet ErrConflict, and Update runs
// them again until every increment counts.
func TestUpdateRetriesConflicts(t *testing.T) {
	db, err := badger.Open(badger.DefaultOptions("").WithInMemory(true).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key := []byte("counter")
	incr := func(txn *badger.Txn) error {
		var n uint64
		item, err := txn.Get(key)
		if err == nil {
			if err := item.Value(func(b []byte) error { n = binary.BigEndian.Uint64(b); return nil }); err != nil {
				return err
			}
		} else if err != badger.ErrKeyNotFound {
			return err
		}
		return txn.Set(key, binary.BigEndian.AppendUint64(nil, n+1))
	}
	const workers, each = 16, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if err := Update(context.Background(), db, incr); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var n uint64
	if err := db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		return item.Value(func(b []byte) error { n = binary.BigEndian.Uint64(b); return nil })
	}); err != nil {
		t.Fatal(err)
	}
	if n != workers*each {
		t.Fatalf("counter %d, want %d", n, workers*each)
	}
}

func TestUpdateGivesUpAsAborted(t *testing.T) {
	db, err := badger.Open(badger.DefaultOptions("").WithInMemory(true).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err = Update(ctx, db, func(*badger.Txn) error {
		calls++
		if calls == 3 {
			cancel()
		}
		return badger.ErrConflict
	})
	if err != context.Canceled || calls != 3 {
		t.Fatalf("after %d calls: %v", calls, err)
	}
	calls = 0
	err = Update(context.Background(), db, func(*badger.Txn) error { calls++; return badger.ErrConflict })
	if !errdefs.IsAborted(err) || calls != conflictRetries+1 {
		t.Fatalf("after %d calls: %v", calls, err)
	}
}
