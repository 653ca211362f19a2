package gc

import (
	"context"
	"testing"

	pkglease "berth.dev/pkg/lease"
	"berth.dev/pkg/namespace"
	"berth.dev/services/imaged/internal/content"
	"berth.dev/services/imaged/internal/lease"
)

// TestCollectRemovesIngestsOfEndedLeases: a write interrupted for good
// leaves its ingest; once its lease is deleted the collection removes it,
// while an ingest of a live lease, one a writer holds, one opened without a
// lease and one of imaged's own pulls (kept for a retry to resume) stay.
func TestCollectRemovesIngestsOfEndedLeases(t *testing.T) {
	db, cs := newStores(t)
	ctx := namespace.WithNamespace(context.Background(), "gc-ingest")
	leases := lease.New(db)
	for _, id := range []string{"gone", "kept", "held"} {
		if _, err := leases.Create(ctx, id, nil); err != nil {
			t.Fatal(err)
		}
	}
	write := func(ref, leaseID string) {
		wctx := content.ClientWrite(ctx)
		if leaseID != "" {
			wctx = pkglease.WithLease(wctx, leaseID)
		}
		w, err := cs.Writer(wctx, ref, 0, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("partial " + ref)); err != nil {
			t.Fatal(err)
		}
		if ref != "of-held" {
			w.Close()
			return
		}
		t.Cleanup(func() { w.Close() })
	}
	write("of-gone", "gone")
	write("of-kept", "kept")
	write("of-held", "held")
	write("unleased", "")
	pw, err := cs.Writer(pkglease.WithLease(ctx, "gone"), "pull-partial", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	pw.Write([]byte("partial layer"))
	pw.Close()
	for _, id := range []string{"gone", "held"} {
		if err := leases.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	c := &Collector{DB: db, Content: cs, Leases: leases}
	if err := c.Collect(ctx); err != nil {
		t.Fatal(err)
	}
	left := map[string]bool{}
	sts, err := cs.ListStatuses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sts {
		left[st.Ref] = true
	}
	if left["of-gone"] {
		t.Error("the ingest of a deleted lease is still there")
	}
	for _, ref := range []string{"of-kept", "of-held", "unleased", "pull-partial"} {
		if !left[ref] {
			t.Errorf("ingest %s was removed", ref)
		}
	}
}
