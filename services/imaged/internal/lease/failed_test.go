package lease

import (
	"context"
	"testing"
	"time"

	api "github.com/containerd/containerd/api/services/leases/v1"

	"berth.dev/pkg/namespace"
)

// A gateway restart cuts off every client still connected: a lease such a
// client created and never wrote under (its create's answer lost, or its
// delete finding the gateway down) ends after the grace period too. One
// its client left behind by closing its connection (`ctr leases create`)
// stays, also through later restarts.
func TestGatewayRestartOrphansLeasesOfOpenConnections(t *testing.T) {
	s := newStore(t)
	s.Grace = time.Minute
	for id, client := range map[string]string{"cut-off": "boot1.1", "manual": "boot1.2", "current": "boot2.1"} {
		if _, err := s.Create(fromClient("a", client), id, temporary); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	if marked, err := s.ClientsGone("", []string{"boot1.2"}, now); err != nil || marked {
		t.Fatalf("a closed connection's unused lease: marked %v, %v", marked, err)
	}
	if _, err := s.ClientsGone("boot2", nil, now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClientsGone("boot3", nil, now); err != nil {
		t.Fatal(err)
	}
	if n, err := s.EndOrphans(now.Add(2 * time.Minute)); err != nil || n != 2 {
		t.Fatalf("ended %d, %v; want the leases of the connections open at the restarts", n, err)
	}
	got := leaseIDs(t, s, namespace.WithNamespace(context.Background(), "a"))
	if got["cut-off"] || got["current"] || !got["manual"] {
		t.Fatalf("leases left: %v", got)
	}
}

// A create that failed for its client: its lease goes at once, unless
// something was written under it or it is another client's.
func TestDropFailedCreate(t *testing.T) {
	s := newStore(t)
	ctx := fromClient("a", "boot1.1")
	for _, id := range []string{"failed", "written", "other"} {
		if _, err := s.Create(ctx, id, temporary); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddResource(ctx, "written", &api.Resource{Type: "content", ID: "sha256:abc"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"failed", "written", "never-made"} {
		if err := s.DropFailedCreate(context.Background(), "a", id, "boot1.1"); err != nil {
			t.Fatalf("drop %s: %v", id, err)
		}
	}
	if err := s.DropFailedCreate(context.Background(), "a", "other", "boot1.2"); err != nil {
		t.Fatal(err)
	}
	got := leaseIDs(t, s, namespace.WithNamespace(context.Background(), "a"))
	if got["failed"] || !got["written"] || !got["other"] {
		t.Fatalf("leases left: %v", got)
	}
}
