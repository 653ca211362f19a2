package cri

import (
	"context"
	"fmt"
	"testing"

	"github.com/containerd/errdefs"
)

// usageSnapshots answers Usage from a table and counts the calls.
type usageSnapshots struct {
	Snapshots
	sizes map[string]int64
	calls int
}

func (u *usageSnapshots) Usage(_ context.Context, _, key string) (int64, int64, error) {
	u.calls++
	size, ok := u.sizes[key]
	if !ok {
		return 0, 0, fmt.Errorf("snapshot %q: %w", key, errdefs.ErrNotFound)
	}
	return size, size / 4096, nil
}

func TestWritableLayerIsMeasuredOncePerPeriod(t *testing.T) {
	snaps := &usageSnapshots{sizes: map[string]int64{"c1": 1 << 20}}
	s := &RuntimeService{Config: Config{Snapshotter: "overlayfs", SnapshotsDir: "/var/lib/berth/snapshotd/snapshots/overlayfs"}, Snapshots: snaps}
	ctx := context.Background()
	u := s.writableLayer(ctx, "c1")
	if u.GetUsedBytes().GetValue() != 1<<20 || u.GetInodesUsed().GetValue() != 256 || u.GetFsId().GetMountpoint() != s.SnapshotsDir {
		t.Fatalf("writable layer %v", u)
	}
	snaps.sizes["c1"] = 2 << 20
	if again := s.writableLayer(ctx, "c1"); again.GetUsedBytes().GetValue() != 1<<20 || snaps.calls != 1 {
		t.Fatalf("second ask within the period measured again: %v after %d calls", again, snaps.calls)
	}
	// A removed container's figure is forgotten.
	s.layerUsage.Delete("c1")
	if fresh := s.writableLayer(ctx, "c1"); fresh.GetUsedBytes().GetValue() != 2<<20 {
		t.Fatalf("after forgetting: %v", fresh)
	}
	// No snapshot: no figure, and nothing cached.
	if u := s.writableLayer(ctx, "gone"); u != nil {
		t.Fatalf("a container without snapshot: %v", u)
	}
	if _, ok := s.layerUsage.Load("gone"); ok {
		t.Fatal("a failed measure was cached")
	}
}
