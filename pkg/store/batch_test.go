package store

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"go.uber.org/zap"
)

// openSmall opens a store as daemons do: its transactions take about
// 1,600 entries, fewer than the tests below write.
func openSmall(t *testing.T) *badger.DB {
	t.Helper()
	db, err := Open(t.TempDir(), zap.NewNop(), WithoutSyncWrites())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// fill writes n keys under prefix through a write batch, which splits
// them into transactions that fit.
func fill(t *testing.T, db *badger.DB, prefix string, n int) {
	t.Helper()
	wb := db.NewWriteBatch()
	for i := range n {
		if err := wb.Set(fmt.Appendf(nil, "%s%06d", prefix, i), []byte("held")); err != nil {
			t.Fatal(err)
		}
	}
	if err := wb.Flush(); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, db *badger.DB, prefix string) int {
	t.Helper()
	var n int
	db.View(func(txn *badger.Txn) error { n = len(Keys(txn, prefix)); return nil })
	return n
}

func TestDeleteAllThenBeyondOneTransaction(t *testing.T) {
	db := openSmall(t)
	n := 3 * int(db.MaxBatchCount())
	fill(t, db, "hold/l1/", n)
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("owner/l1"), []byte("x")) }); err != nil {
		t.Fatal(err)
	}
	// All at once, as before, is too big.
	err := db.Update(func(txn *badger.Txn) error {
		for _, k := range Keys(txn, "hold/l1/") {
			if err := txn.Delete([]byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
	if !errors.Is(err, badger.ErrTxnTooBig) {
		t.Fatalf("removing %d keys in one transaction: %v, want ErrTxnTooBig", n, err)
	}
	thens := 0
	err = DeleteAllThen(context.Background(), db, "hold/l1/", func(txn *badger.Txn) error {
		thens++
		if left := len(Keys(txn, "hold/l1/")); left != 0 {
			return fmt.Errorf("owner removed with %d keys left", left)
		}
		return txn.Delete([]byte("owner/l1"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if thens != 1 || count(t, db, "hold/l1/") != 0 || count(t, db, "owner/l1") != 0 {
		t.Fatalf("then ran %d times; %d keys and %d owners left", thens, count(t, db, "hold/l1/"), count(t, db, "owner/l1"))
	}
}

// When everything fits, the keys and the owner go in one transaction: a
// refusing then keeps them all.
func TestDeleteAllThenIsOneTransactionWhenItFits(t *testing.T) {
	db := openSmall(t)
	fill(t, db, "hold/l2/", 10)
	refused := errors.New("refused")
	if err := DeleteAllThen(context.Background(), db, "hold/l2/", func(*badger.Txn) error { return refused }); !errors.Is(err, refused) {
		t.Fatalf("DeleteAllThen = %v, want the refusal", err)
	}
	if n := count(t, db, "hold/l2/"); n != 10 {
		t.Fatalf("%d keys left after a refused removal, want 10", n)
	}
}

func TestUpdateInBatchesBeyondOneTransaction(t *testing.T) {
	db := openSmall(t)
	items := make([]int, 3*int(db.MaxBatchCount()))
	for i := range items {
		items[i] = i
	}
	err := UpdateInBatches(context.Background(), db, items, func(txn *badger.Txn, i int) error {
		return txn.Set(fmt.Appendf(nil, "mark/%06d", i), []byte("x"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "mark/"); n != len(items) {
		t.Fatalf("%d items written, want %d", n, len(items))
	}
}
