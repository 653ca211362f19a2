package lease

import (
	"context"
	"errors"
	"testing"
	"time"

	api "github.com/containerd/containerd/api/services/leases/v1"
	"github.com/containerd/errdefs"
	"google.golang.org/grpc/metadata"

	"berth.dev/pkg/lease"
	"berth.dev/pkg/namespace"
)

func fromClient(ns, client string) context.Context {
	ctx := namespace.WithNamespace(context.Background(), ns)
	return metadata.NewIncomingContext(ctx, metadata.Pairs(lease.ClientMetadata, client))
}

var temporary = map[string]string{ExpireLabel: "2100-01-01T00:00:00Z"}

func leaseIDs(t *testing.T, s *Store, ctx context.Context) map[string]bool {
	t.Helper()
	ls, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, l := range ls {
		out[l.ID] = true
	}
	return out
}

func TestOrphanedLeaseEndsAfterGrace(t *testing.T) {
	s := newStore(t)
	s.Grace = time.Minute
	ctx := fromClient("a", "boot1.1")
	for _, id := range []string{"gone", "other-client"} {
		if _, err := s.Create(ctx, id, temporary); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Create(fromClient("a", "boot1.2"), "other-client2", temporary); err != nil {
		t.Fatal(err)
	}
	// Without an expiry a lease is meant to stay until deleted.
	if _, err := s.Create(ctx, "permanent", nil); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"gone", "other-client", "permanent"} {
		if err := s.AddResource(ctx, id, &api.Resource{Type: "content", ID: "sha256:abc"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddResource(fromClient("a", "boot1.2"), "other-client2", &api.Resource{Type: "content", ID: "sha256:abc"}); err != nil {
		t.Fatal(err)
	}
	// Made to hold things for a while: its client got it and never wrote
	// under it.
	if _, err := s.Create(ctx, "manual", temporary); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	marked, err := s.ClientsGone("", []string{"boot1.1"}, now)
	if err != nil || !marked {
		t.Fatalf("ClientsGone: marked %v, %v", marked, err)
	}
	if n, err := s.EndOrphans(now.Add(30 * time.Second)); err != nil || n != 0 {
		t.Fatalf("within the grace period: ended %d, %v", n, err)
	}
	if n, err := s.EndOrphans(now.Add(61 * time.Second)); err != nil || n != 2 {
		t.Fatalf("after the grace period: ended %d, %v; want the two leases of boot1.1", n, err)
	}
	got := leaseIDs(t, s, ctx)
	if got["gone"] || got["other-client"] || !got["other-client2"] || !got["permanent"] || !got["manual"] {
		t.Fatalf("leases left: %v", got)
	}
	if _, err := s.ListResources(ctx, "gone"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("resources of an ended lease: %v, want NotFound", err)
	}
}

func TestLeaseWrittenUnderAgainIsKept(t *testing.T) {
	s := newStore(t)
	s.Grace = time.Minute
	first := fromClient("a", "boot1.1")
	if _, err := s.Create(first, "l", temporary); err != nil {
		t.Fatal(err)
	}
	if err := s.AddResource(first, "l", &api.Resource{Type: "content", ID: "sha256:000"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := s.ClientsGone("", []string{"boot1.1"}, now); err != nil {
		t.Fatal(err)
	}
	// The client comes back on a new connection and writes under it.
	if err := s.AddResource(fromClient("a", "boot1.7"), "l", &api.Resource{Type: "content", ID: "sha256:abc"}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.EndOrphans(now.Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("a lease its client came back to ended: %d, %v", n, err)
	}
	// Now owned by the new connection: its departure orphans the lease.
	if marked, _ := s.ClientsGone("", []string{"boot1.1"}, now); marked {
		t.Fatal("the old connection still owns the lease")
	}
	if marked, _ := s.ClientsGone("", []string{"boot1.7"}, now); !marked {
		t.Fatal("the new connection does not own the lease")
	}
}

func TestGatewayRestartOrphansEarlierBoots(t *testing.T) {
	s := newStore(t)
	s.Grace = time.Second
	for id, client := range map[string]string{"old": "boot1.3", "new": "boot2.1"} {
		ctx := fromClient("a", client)
		if _, err := s.Create(ctx, id, temporary); err != nil {
			t.Fatal(err)
		}
		if err := s.AddResource(ctx, id, &api.Resource{Type: "content", ID: "sha256:abc"}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	if _, err := s.ClientsGone("boot2", nil, now); err != nil {
		t.Fatal(err)
	}
	if n, err := s.EndOrphans(now.Add(2 * time.Second)); err != nil || n != 1 {
		t.Fatalf("ended %d, %v; want the lease of the earlier boot", n, err)
	}
	if got := leaseIDs(t, s, namespace.WithNamespace(context.Background(), "a")); got["old"] || !got["new"] {
		t.Fatalf("leases left: %v", got)
	}
}
