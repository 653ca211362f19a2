package lease

import (
	"context"
	"testing"
	"time"

	api "github.com/containerd/containerd/api/services/leases/v1"

	"berth.dev/pkg/namespace"
)

// A lease whose create answer never reached its client (the gateway died
// first) ends with that client's connection, after the grace period; one
// answered stays, as `ctr leases create`'s does, and so does one created
// by an earlier imaged run, whose answer is not known.
func TestUnansweredLeaseEndsWithItsClient(t *testing.T) {
	s := newStore(t)
	s.Grace = time.Minute
	ctx := fromClient("a", "boot1.1")
	for _, id := range []string{"lost", "answered"} {
		if _, err := s.Create(ctx, id, temporary); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Answered("a", "answered", "boot1.1"); err != nil {
		t.Fatal(err)
	}
	// The same database opened by a later imaged run.
	later := New(s.db)
	later.Grace = time.Minute
	if _, err := later.Create(ctx, "lost-later", temporary); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := later.ClientsGone("boot2", nil, now); err != nil {
		t.Fatal(err)
	}
	if n, err := later.EndOrphans(now.Add(2 * time.Minute)); err != nil || n != 1 {
		t.Fatalf("ended %d, %v; want the lease of this run whose answer was lost", n, err)
	}
	got := leaseIDs(t, later, ctx)
	if got["lost-later"] || !got["lost"] || !got["answered"] {
		t.Fatalf("leases left: %v", got)
	}
}

// A create that failed for its client: its lease goes at once, unless
// something was written under it or it is another client's.
func TestDropUnanswered(t *testing.T) {
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
		if err := s.DropUnanswered(context.Background(), "a", id, "boot1.1"); err != nil {
			t.Fatalf("drop %s: %v", id, err)
		}
	}
	if err := s.DropUnanswered(context.Background(), "a", "other", "boot1.2"); err != nil {
		t.Fatal(err)
	}
	got := leaseIDs(t, s, namespace.WithNamespace(context.Background(), "a"))
	if got["failed"] || !got["written"] || !got["other"] {
		t.Fatalf("leases left: %v", got)
	}
}
