package lease

import (
	"context"
	"testing"

	api "github.com/containerd/containerd/api/services/leases/v1"

	"berth.dev/pkg/namespace"
)

func TestDeleteLabelledEndsOnlyThoseLeases(t *testing.T) {
	s := newStore(t)
	a := namespace.WithNamespace(context.Background(), "a")
	b := namespace.WithNamespace(context.Background(), "b")
	for _, c := range []struct {
		ctx    context.Context
		id     string
		labels map[string]string
	}{
		{a, "pull-1", map[string]string{"berth.dev/pull": "server", ExpireLabel: "2999-01-01T00:00:00Z"}},
		{b, "pull-2", map[string]string{"berth.dev/pull": "server"}},
		{a, "pull-3", map[string]string{"berth.dev/pull": "other"}},
		{b, "mine", nil},
	} {
		if _, err := s.Create(c.ctx, c.id, c.labels); err != nil {
			t.Fatal(err)
		}
		if err := s.AddResource(c.ctx, c.id, &api.Resource{Type: "content", ID: "sha256:" + c.id}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.DeleteLabelled("berth.dev/pull", "server")
	if err != nil || n != 2 {
		t.Fatalf("ended %d leases (%v), want 2", n, err)
	}
	for _, c := range []struct {
		ctx  context.Context
		id   string
		kept bool
	}{{a, "pull-1", false}, {b, "pull-2", false}, {a, "pull-3", true}, {b, "mine", true}} {
		_, err := s.ListResources(c.ctx, c.id)
		if (err == nil) != c.kept {
			t.Errorf("lease %s: %v, kept should be %v", c.id, err, c.kept)
		}
	}
}
