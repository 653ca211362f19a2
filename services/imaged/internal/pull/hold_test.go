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
	p := &Puller{Content: cs, Leases: leasestore.New(db)}
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
