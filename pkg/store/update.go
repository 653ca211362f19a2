package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/containerd/errdefs"
	"github.com/dgraph-io/badger/v4"
)

// conflictRetries bounds how often Update runs a transaction again. Badger
// checks transactions optimistically: two that read and write the same key
// at once (twenty pulls adding blobs to their leases and touching the
// lease's owner record, an exit and a CRI call updating one container)
// make the later one fail with ErrConflict although nothing is wrong.
const conflictRetries = 50

// Update runs fn in a read-write transaction, and again on a fresh one
// while a concurrent transaction changed what fn read, until it commits,
// fails otherwise or ctx ends. fn must have no effect outside txn. Running
// out of attempts is errdefs.ErrAborted, which callers may retry.
func Update(ctx context.Context, db *badger.DB, fn func(txn *badger.Txn) error) error {
	for attempt := 0; ; attempt++ {
		err := db.Update(fn)
		if !errors.Is(err, badger.ErrConflict) {
			return err
		}
		if attempt == conflictRetries {
			return fmt.Errorf("%d concurrent updates of the same records in a row: %w", attempt+1, errdefs.ErrAborted)
		}
		// Jitter keeps the losers of one round from meeting again.
		wait := time.Duration(min(attempt+1, 10)) * time.Millisecond
		wait += rand.N(wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}
