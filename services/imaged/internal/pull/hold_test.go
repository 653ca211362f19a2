package pull

import (
	"bytes"
	"context"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/opencontainers/go-digest"
	"go.uber.org/zap"

	"berth.dev/pkg/events"
	"berth.dev/pkg/namespace"
	"berth.dev/pkg/store"
	"berth.dev/services/imaged/internal/content"
	leasestore "berth.dev/services/imaged/internal/lease"
)

// A blob the pull finds already stored is held by the pull's lease, like
// one it downloads.
func TestPullHoldsBlobsFoundPresent(t *testing.T) {
	p := newLeasingPuller(t)
	ctx := namespace.WithNamespace(context.Background(), "test")
	data := []byte(`{"config":"stored by an interrupted pull"}`)
	dgst := digest.FromBytes(data).String()
	if err := p.write(ctx, dgst, int64(len(data)), bytes.NewReader(data), nil); err != nil {
		t.Fatal(err)
	}
	lctx, release, err := p.hold(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if err := p.write(lctx, dgst, int64(len(data)), bytes.NewReader(data), nil); err != nil {
		t.Fatal(err)
	}
	ls, err := p.Leases.List(ctx)
	if err != nil || len(ls) != 1 {
		t.Fatalf("leases %v, %v", ls, err)
	}
	res, err := p.Leases.ListResources(ctx, ls[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Type != "content" || res[0].ID != dgst {
		t.Fatalf("the pull's lease holds %v, want the blob %s it found present", res, dgst)
	}
}

func newLeasingPuller(t *testing.T) *Puller {
	p, _ := newLeasingPullerDB(t)
	return p
}

func newLeasingPullerDB(t *testing.T) (*Puller, *badger.DB) {
	db, err := store.Open(t.TempDir(), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ob, _ := events.NewOutbox(db, "test")
	cs, err := content.New(t.TempDir(), db, ob)
	if err != nil {
		t.Fatal(err)
	}
	return &Puller{Content: cs, Leases: leasestore.New(db)}, db
}

// The leases of pulls a previous process ran end at start; a client's
// lease stays.
func TestEndInterruptedEndsOnlyPullLeases(t *testing.T) {
	p := newLeasingPuller(t)
	ctx := namespace.WithNamespace(context.Background(), "test")
	if _, _, err := p.hold(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Leases.Create(ctx, "a-client", map[string]string{leasestore.ExpireLabel: "2999-01-01T00:00:00Z"}); err != nil {
		t.Fatal(err)
	}
	if err := p.EndInterrupted(ctx); err != nil {
		t.Fatal(err)
	}
	ls, err := p.Leases.List(ctx)
	if err != nil || len(ls) != 1 || ls[0].ID != "a-client" {
		t.Fatalf("after EndInterrupted: %v, %v; want only the client's lease", ls, err)
	}
}

// holdAll puts every blob and snapshot under the pull's lease in one write;
// the holds each step takes again before it looks then write nothing.
func TestHoldAllIsOneWrite(t *testing.T) {
	p, db := newLeasingPullerDB(t)
	ctx := namespace.WithNamespace(context.Background(), "test")
	lctx, release, err := p.hold(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	blobs := []string{digest.FromString("manifest").String(), digest.FromString("config").String()}
	snaps := []string{digest.FromString("chain").String(), "extract-1 " + digest.FromString("chain").String()}
	if err := p.holdAll(lctx, blobs, "overlayfs", snaps); err != nil {
		t.Fatal(err)
	}
	ls, _ := p.Leases.List(ctx)
	res, err := p.Leases.ListResources(ctx, ls[0].ID)
	if err != nil || len(res) != 4 {
		t.Fatalf("the lease holds %v (%v), want 2 blobs and 2 snapshots", res, err)
	}
	for _, r := range res {
		if r.Type != "content" && r.Type != "snapshots/overlayfs" {
			t.Fatalf("resource %v", r)
		}
	}
	before := db.MaxVersion()
	if err := p.holdContent(lctx, blobs[1]); err != nil {
		t.Fatal(err)
	}
	if err := p.holdSnapshot(lctx, "overlayfs", snaps[0]); err != nil {
		t.Fatal(err)
	}
	if after := db.MaxVersion(); after != before {
		t.Fatalf("holding again wrote: version %d, then %d", before, after)
	}
}
