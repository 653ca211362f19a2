package lease

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	api "github.com/containerd/containerd/api/services/leases/v1"
	"github.com/containerd/errdefs"
	"github.com/dgraph-io/badger/v4"

	"berth.dev/pkg/namespace"
	"berth.dev/pkg/store"
)

// holdMany makes lease id of ns hold more resources than one of the
// store's transactions can remove.
func holdMany(t *testing.T, s *Store, ns, id string) int {
	t.Helper()
	n := 2*int(s.db.MaxBatchCount()) + 100
	res := make([]*api.Resource, n)
	for i := range res {
		res[i] = &api.Resource{Type: "content", ID: fmt.Sprintf("sha256:%064d", i)}
	}
	if err := store.UpdateInBatches(context.Background(), s.db, res, func(txn *badger.Txn, r *api.Resource) error {
		return addResource(txn, ns, id, r)
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func holds(t *testing.T, s *Store, ns, id string) int {
	t.Helper()
	var n int
	s.db.View(func(txn *badger.Txn) error { n = len(Resources(txn, ns, id)); return nil })
	return n
}

// A lease holding thousands of blobs (a large image's, or many images')
// is removed although its holds do not fit in one transaction; each way a
// lease ends is tried.
func TestLeaseHoldingMoreThanATransactionEnds(t *testing.T) {
	s := newStore(t)
	s.Grace = time.Minute
	ctx := fromClient("big", "boot1.1")
	for _, id := range []string{"deleted", "labelled", "orphaned"} {
		labels := temporary
		if id == "labelled" {
			labels = map[string]string{"berth.dev/pull": "server"}
		}
		if _, err := s.Create(ctx, id, labels); err != nil {
			t.Fatal(err)
		}
		if n := holdMany(t, s, "big", id); holds(t, s, "big", id) != n {
			t.Fatalf("lease %s holds %d, want %d", id, holds(t, s, "big", id), n)
		}
	}
	// Under the old single transaction each of these failed with
	// badger's ErrTxnTooBig.
	if err := s.Delete(namespace.WithNamespace(context.Background(), "big"), "deleted"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteLabelled("berth.dev/pull", "server"); err != nil || n != 1 {
		t.Fatalf("DeleteLabelled ended %d (%v), want 1", n, err)
	}
	if err := s.AddResource(ctx, "orphaned", &api.Resource{Type: "snapshots/overlayfs", ID: "used"}); err != nil {
		t.Fatal(err)
	}
	if marked, err := s.ClientsGone("", []string{"boot1.1"}, time.Now().Add(-time.Hour)); err != nil || !marked {
		t.Fatalf("ClientsGone = %v, %v", marked, err)
	}
	if n, err := s.EndOrphans(time.Now()); err != nil || n != 1 {
		t.Fatalf("EndOrphans ended %d (%v), want 1", n, err)
	}
	for _, id := range []string{"deleted", "labelled", "orphaned"} {
		if n := holds(t, s, "big", id); n != 0 {
			t.Errorf("lease %s still holds %d", id, n)
		}
		if _, err := s.ListResources(namespace.WithNamespace(context.Background(), "big"), id); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("lease %s after it ended: %v, want NotFound", id, err)
		}
	}
}

// ClientsGone marks more leases than one transaction takes.
func TestClientsGoneMarksMoreLeasesThanATransaction(t *testing.T) {
	s := newStore(t)
	n := int(s.db.MaxBatchCount()) + 100
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("l%05d", i)
	}
	// Leases written directly: creating them one call at a time would
	// sync thousands of commits.
	if err := store.UpdateInBatches(context.Background(), s.db, ids, func(txn *badger.Txn, id string) error {
		return putOwner(txn, ownerKey("many", id), &owner{Client: "boot1.1", Used: true})
	}); err != nil {
		t.Fatal(err)
	}
	if marked, err := s.ClientsGone("", []string{"boot1.1"}, time.Now()); err != nil || !marked {
		t.Fatalf("ClientsGone = %v, %v", marked, err)
	}
	orphaned := 0
	s.db.View(func(txn *badger.Txn) error {
		for _, id := range ids {
			if o, err := getOwner(txn, ownerKey("many", id)); err == nil && o != nil && o.Orphaned != 0 {
				orphaned++
			}
		}
		return nil
	})
	if orphaned != n {
		t.Fatalf("%d of %d leases marked orphaned", orphaned, n)
	}
}
