package pull

import (
	"bytes"
	"context"
	"testing"

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
	return &Puller{Content: cs, Leases: leasestore.New(db)}
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
