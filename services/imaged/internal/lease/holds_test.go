package lease

import (
	"context"
	"testing"

	api "github.com/containerd/containerd/api/services/leases/v1"
	"github.com/dgraph-io/badger/v4"

	"berth.dev/pkg/namespace"
)

func TestHoldsContent(t *testing.T) {
	s := newStore(t)
	ctx := namespace.WithNamespace(context.Background(), "a")
	holds := func(ns, dgst string) bool {
		var held bool
		if err := s.db.View(func(txn *badger.Txn) (err error) { held, err = HoldsContent(txn, ns, dgst); return err }); err != nil {
			t.Fatal(err)
		}
		return held
	}
	s.Create(ctx, "live", nil)
	s.Create(ctx, "expired", map[string]string{ExpireLabel: "2000-01-01T00:00:00Z"})
	s.AddResource(ctx, "live", &api.Resource{Type: "content", ID: "sha256:aa"})
	s.AddResource(ctx, "expired", &api.Resource{Type: "content", ID: "sha256:bb"})
	s.AddResource(ctx, "live", &api.Resource{Type: "snapshots/overlayfs", ID: "sha256:cc"})
	for _, c := range []struct {
		ns, dgst string
		want     bool
	}{{"a", "sha256:aa", true}, {"b", "sha256:aa", false}, {"a", "sha256:bb", false}, {"a", "sha256:cc", false}, {"a", "sha256:a", false}} {
		if got := holds(c.ns, c.dgst); got != c.want {
			t.Errorf("%s %s held: %v, want %v", c.ns, c.dgst, got, c.want)
		}
	}
}
