package lease

import (
	"context"
	"errors"
	"testing"
	"time"

	api "github.com/containerd/containerd/api/services/leases/v1"
	"github.com/containerd/errdefs"

	"berth.dev/pkg/namespace"
	"berth.dev/pkg/store/storetest"
)

func newStore(t *testing.T) *Store {
	return New(storetest.Open(t))
}

func TestLeaseResources(t *testing.T) {
	s := newStore(t)
	ctx := namespace.WithNamespace(context.Background(), "a")
	if _, err := s.Create(ctx, "l1", map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, "l1", nil); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Fatalf("second create: %v, want AlreadyExists", err)
	}
	gen, err := s.Create(ctx, "", nil)
	if err != nil || gen.ID == "" {
		t.Fatalf("create with a generated id: %v %v", gen, err)
	}
	r := &api.Resource{Type: "content", ID: "sha256:abc"}
	if err := s.AddResource(ctx, "l1", r); err != nil {
		t.Fatal(err)
	}
	if err := s.AddResource(ctx, "missing", r); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("add to a missing lease: %v, want NotFound", err)
	}
	res, err := s.ListResources(ctx, "l1")
	if err != nil || len(res) != 1 || res[0].Type != "content" || res[0].ID != "sha256:abc" {
		t.Fatalf("resources: %v %v", res, err)
	}
	if got, _ := s.List(ctx, "labels.k==v"); len(got) != 1 || got[0].ID != "l1" {
		t.Fatalf("filtered list: %v", got)
	}
	if err := s.DeleteResource(ctx, "l1", r); err != nil {
		t.Fatal(err)
	}
	if res, _ := s.ListResources(ctx, "l1"); len(res) != 0 {
		t.Fatalf("resources after delete: %v", res)
	}
	if err := s.Delete(ctx, "l1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ListResources(ctx, "l1"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("resources of a deleted lease: %v, want NotFound", err)
	}
}

func TestExpired(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		label string
		want  bool
	}{
		{"", false},
		{"2026-01-02T03:04:04Z", true},
		{"2026-01-02T03:04:06Z", false},
		{"not a time", false},
	} {
		l := &api.Lease{Labels: map[string]string{}}
		if tc.label != "" {
			l.Labels[ExpireLabel] = tc.label
		}
		if got := Expired(l, now); got != tc.want {
			t.Errorf("Expired(%q) = %v, want %v", tc.label, got, tc.want)
		}
	}
}

// Holding a resource the lease holds already writes nothing: no commit, so
// no synced write.
func TestAddResourceHeldAlreadyWritesNothing(t *testing.T) {
	s := newStore(t)
	ctx := namespace.WithNamespace(context.Background(), "a")
	if _, err := s.Create(ctx, "l1", nil); err != nil {
		t.Fatal(err)
	}
	r := &api.Resource{Type: "snapshots/overlayfs", ID: "sha256:abc"}
	if err := s.AddResource(ctx, "l1", r); err != nil {
		t.Fatal(err)
	}
	before := s.db.MaxVersion()
	if err := s.AddResource(ctx, "l1", r); err != nil {
		t.Fatal(err)
	}
	if after := s.db.MaxVersion(); after != before {
		t.Fatalf("a second hold committed a write: version %d, then %d", before, after)
	}
	if res, err := s.ListResources(ctx, "l1"); err != nil || len(res) != 1 {
		t.Fatalf("resources: %v %v", res, err)
	}
}
