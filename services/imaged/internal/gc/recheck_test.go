package gc

import (
	"context"
	"testing"
	"time"

	contentapi "github.com/containerd/containerd/api/services/content/v1"
	leasesapi "github.com/containerd/containerd/api/services/leases/v1"
	"github.com/opencontainers/go-digest"

	"berth.dev/pkg/namespace"
	"berth.dev/services/imaged/internal/lease"
)

// A blob the mark found unreferenced is not deleted if, by the deleting
// transaction, a lease holds it or its labels changed.
func TestDeletionRechecksWhatTheMarkSaw(t *testing.T) {
	db, cs := newStores(t)
	const ns = "gc-recheck"
	ctx := namespace.WithNamespace(context.Background(), ns)
	data := "present"
	d := digest.FromString(data)
	w, err := cs.Writer(ctx, "ref", int64(len(data)), d.String())
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(data))
	if err := w.Commit(ctx, int64(len(data)), d.String(), nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	mark := func() *contentapi.Info {
		t.Helper()
		info, err := cs.Info(ctx, d.String())
		if err != nil {
			t.Fatal(err)
		}
		return info
	}
	seen := mark()

	// A writer finds the blob present and holds it after the mark.
	leases := lease.New(db)
	if _, err := leases.Create(ctx, "pull", nil); err != nil {
		t.Fatal(err)
	}
	if err := leases.AddResource(ctx, "pull", &leasesapi.Resource{Type: "content", ID: d.String()}); err != nil {
		t.Fatal(err)
	}
	if deleted, err := cs.DeleteInNamespace(ctx, ns, d, stillReferenced(ns, seen, time.Now())); err != nil || deleted {
		t.Fatalf("deleted a blob a lease came to hold after the mark (%v)", err)
	}

	// Its labels change after the mark (the lease gone).
	if err := leases.Delete(ctx, "pull"); err != nil {
		t.Fatal(err)
	}
	seen = mark()
	if _, err := cs.Update(ctx, &contentapi.Info{Digest: d.String(), Labels: map[string]string{rootLabel: "now"}}, nil); err != nil {
		t.Fatal(err)
	}
	if deleted, err := cs.DeleteInNamespace(ctx, ns, d, stillReferenced(ns, seen, time.Now())); err != nil || deleted {
		t.Fatalf("deleted a blob whose labels changed after the mark (%v)", err)
	}

	// Nothing changed since the mark: it goes.
	seen = mark()
	if deleted, err := cs.DeleteInNamespace(ctx, ns, d, stillReferenced(ns, seen, time.Now())); err != nil || !deleted {
		t.Fatalf("an unreferenced blob stayed (%v)", err)
	}
}
