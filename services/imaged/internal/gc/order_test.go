package gc

import (
	"context"
	"sync"
	"testing"
	"time"

	leasesapi "github.com/containerd/containerd/api/services/leases/v1"
	snapshotsapi "github.com/containerd/containerd/api/services/snapshots/v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	pkglease "berth.dev/pkg/lease"
	"berth.dev/pkg/namespace"
	"berth.dev/services/imaged/internal/lease"
)

// fakeSnapshots is snapshotd as the collector sees it. During the listing
// it lets a "pull" prepare a snapshot under a lease the way snapshotd
// does: hold first, record second.
type fakeSnapshots struct {
	mu      sync.Mutex
	infos   map[string]*snapshotsapi.Info
	removed []string
	during  func(f *fakeSnapshots)
}

func (f *fakeSnapshots) List(ctx context.Context, ns string) (Listing, error) {
	f.mu.Lock()
	var out []*snapshotsapi.Info
	for _, i := range f.infos {
		out = append(out, i)
	}
	f.mu.Unlock()
	if f.during != nil {
		f.during(f)
	}
	return Listing{"overlayfs": out}, nil
}

func (f *fakeSnapshots) Sweep(ctx context.Context, ns string, listed Listing, keep map[string]map[string]bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, key := range unreferenced(listed["overlayfs"], keep["overlayfs"]) {
		delete(f.infos, key)
		f.removed = append(f.removed, key)
	}
	return nil
}

func (f *fakeSnapshots) add(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.infos[name] = &snapshotsapi.Info{Name: name, CreatedAt: timestamppb.Now()}
}

// TestCollectListsSnapshotsBeforeTheMark: snapshots prepared under a lease
// while a collection runs survive it, whether the mark saw their lease's
// hold or not, and garbage listed before still goes.
func TestCollectListsSnapshotsBeforeTheMark(t *testing.T) {
	db, cs := newStores(t)
	ctx := namespace.WithNamespace(context.Background(), "gc-order")
	leases := lease.New(db)
	l, err := leases.Create(ctx, "pull", map[string]string{lease.ExpireLabel: time.Now().Add(time.Hour).Format(time.RFC3339)})
	if err != nil {
		t.Fatal(err)
	}
	hold := func(key string) {
		t.Helper()
		if err := leases.AddResource(ctx, l.ID, &leasesapi.Resource{ID: key, Type: "snapshots/overlayfs"}); err != nil {
			t.Fatal(err)
		}
	}
	snaps := &fakeSnapshots{infos: map[string]*snapshotsapi.Info{}}
	hold("held")
	snaps.add("held")
	snaps.add("garbage")
	// Prepared while the listing is under way: held, then created.
	snaps.during = func(f *fakeSnapshots) {
		hold("extract-1")
		f.add("extract-1")
	}
	c := &Collector{DB: db, Content: cs, Snapshots: snaps}
	if err := c.Collect(ctx); err != nil {
		t.Fatal(err)
	}
	if len(snaps.removed) != 1 || snaps.removed[0] != "garbage" {
		t.Fatalf("removed %v, want only garbage", snaps.removed)
	}
	// The next collection sees extract-1's hold; once the lease ends,
	// everything goes.
	snaps.during = nil
	if err := c.Collect(ctx); err != nil {
		t.Fatal(err)
	}
	if len(snaps.infos) != 2 {
		t.Fatalf("left %v, want held and extract-1", snaps.infos)
	}
	if err := leases.Delete(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.Collect(ctx); err != nil {
		t.Fatal(err)
	}
	if len(snaps.infos) != 0 {
		t.Fatalf("left %v after the lease ended", snaps.infos)
	}
}

// TestCollectSweepsTheNamespaceOfAnOrphanItEnds: a namespace whose only
// record is a lease whose client went away. The collection that ends the
// lease must still sweep that namespace's snapshots, even when it is the
// collector's first (imaged just restarted) and so remembers no namespace.
func TestCollectSweepsTheNamespaceOfAnOrphanItEnds(t *testing.T) {
	db, cs := newStores(t)
	ctx := metadata.NewIncomingContext(namespace.WithNamespace(context.Background(), "gc-lonely"),
		metadata.Pairs(pkglease.ClientMetadata, "boot1.c1"))
	leases := lease.New(db)
	l, err := leases.Create(ctx, "client-run", map[string]string{lease.ExpireLabel: time.Now().Add(24 * time.Hour).Format(time.RFC3339)})
	if err != nil {
		t.Fatal(err)
	}
	if err := leases.AddResource(ctx, l.ID, &leasesapi.Resource{ID: "rootfs", Type: "snapshots/overlayfs"}); err != nil {
		t.Fatal(err)
	}
	snaps := &fakeSnapshots{infos: map[string]*snapshotsapi.Info{}}
	snaps.add("rootfs")
	if _, err := leases.ClientsGone("", []string{"boot1.c1"}, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	c := &Collector{DB: db, Content: cs, Snapshots: snaps, Leases: leases}
	if err := c.Collect(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(snaps.infos) != 0 {
		t.Fatalf("left %v after the orphaned lease ended", snaps.infos)
	}
}
