package pull

import (
	"context"
	"fmt"

	leasesapi "github.com/containerd/containerd/api/services/leases/v1"

	"berth.dev/pkg/lease"
)

// holdExisting puts a blob or snapshot under the pull's lease before the
// pull looks whether it is already there. Something found there is what
// another pull or image wrote; without the hold nothing of ours keeps it,
// and when that image is removed (or that pull's lease ends, as when it is
// cancelled) a collection takes it while this pull still builds on it: a
// layer committed onto a chain that is gone fails with "parent snapshot
// not found". containerd's metadata store does the same on an existing
// blob's writer and an existing snapshot's Prepare. Holding before
// looking leaves no moment where it is found but not held.
func (p *Puller) holdExisting(ctx context.Context, rs ...*leasesapi.Resource) error {
	l, ok := lease.FromContext(ctx)
	if !ok || p.Leases == nil {
		return nil
	}
	if err := p.Leases.AddResource(ctx, l, rs...); err != nil {
		return fmt.Errorf("hold %d resources under the pull's lease: %w", len(rs), err)
	}
	return nil
}

// holdContent holds a blob; holdSnapshot a snapshot.
func (p *Puller) holdContent(ctx context.Context, dgst string) error {
	return p.holdExisting(ctx, &leasesapi.Resource{ID: dgst, Type: "content"})
}

func (p *Puller) holdSnapshot(ctx context.Context, sn, name string) error {
	return p.holdExisting(ctx, &leasesapi.Resource{ID: name, Type: "snapshots/" + sn})
}

// holdAll holds, in one write, every blob and snapshot a pull will look
// for or create (the snapshots' chains and the keys it will prepare them
// under): the holds each step takes again before it looks, and snapshotd's
// as it prepares and commits, then write nothing, and the pull syncs one
// write instead of one for each.
func (p *Puller) holdAll(ctx context.Context, blobs []string, sn string, snapshots []string) error {
	rs := make([]*leasesapi.Resource, 0, len(blobs)+len(snapshots))
	for _, b := range blobs {
		rs = append(rs, &leasesapi.Resource{ID: b, Type: "content"})
	}
	for _, s := range snapshots {
		rs = append(rs, &leasesapi.Resource{ID: s, Type: "snapshots/" + sn})
	}
	return p.holdExisting(ctx, rs...)
}
