package store

import (
	"context"
	"errors"

	"github.com/dgraph-io/badger/v4"
)

// A transaction holds at most what fits in a fraction of the memtable
// (Open's memtable: about 1,600 entries or 150 KiB), and badger refuses the
// write past that with ErrTxnTooBig. The changes a record's removal brings
// (a lease's holds) have no such bound, so they go in as many transactions
// as they need.

// errThenTooBig aborts a transaction whose final step did not fit beside
// the keys it removed: they are then removed without it first.
var errThenTooBig = errors.New("final step does not fit beside the removed keys")

// DeleteAllThen removes every key under prefix and then runs then, which
// removes what the keys belonged to. When everything fits in one
// transaction it is one transaction, as before; otherwise the keys go in as
// many as they need and then runs in the last, so that an interruption
// leaves the owner (which a retry removes) rather than keys without one.
// then may run more than once (on conflicts) and must have no effect
// outside its transaction.
func DeleteAllThen(ctx context.Context, db *badger.DB, prefix string, then func(txn *badger.Txn) error) error {
	keysOnly := false
	for {
		done := false
		err := Update(ctx, db, func(txn *badger.Txn) error {
			done = false
			n, full, err := deleteKeys(txn, prefix)
			if err != nil || full || (keysOnly && n > 0) {
				return err
			}
			if err := then(txn); err != nil {
				if errors.Is(err, badger.ErrTxnTooBig) && n > 0 {
					return errThenTooBig
				}
				return err
			}
			done = true
			return nil
		})
		switch {
		case errors.Is(err, errThenTooBig):
			keysOnly = true
		case err != nil || done:
			return err
		}
	}
}

// deleteKeys removes the keys under prefix until the transaction is full,
// reporting how many it removed and whether it filled up first.
func deleteKeys(txn *badger.Txn, prefix string) (n int, full bool, err error) {
	for _, k := range Keys(txn, prefix) {
		if err := txn.Delete([]byte(k)); errors.Is(err, badger.ErrTxnTooBig) {
			return n, true, nil
		} else if err != nil {
			return n, false, err
		}
		n++
	}
	return n, false, nil
}

// UpdateInBatches runs fn over items in as many transactions as badger's
// size limit requires: fn makes item's change in txn, one write, and
// returns its badger.ErrTxnTooBig when it did not fit; the item then goes
// to the next transaction. The batches commit one by one, so each item's
// change must stand alone.
func UpdateInBatches[T any](ctx context.Context, db *badger.DB, items []T, fn func(txn *badger.Txn, item T) error) error {
	for len(items) > 0 {
		next := 0
		err := Update(ctx, db, func(txn *badger.Txn) error {
			next = 0
			for _, it := range items {
				err := fn(txn, it)
				if errors.Is(err, badger.ErrTxnTooBig) && next > 0 {
					return nil
				}
				if err != nil {
					return err
				}
				next++
			}
			return nil
		})
		if err != nil {
			return err
		}
		items = items[next:]
	}
	return nil
}
