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
func (p *Puller) holdExisting(ctx context.Context, typ string, ids ...string) error {
	l, ok := lease.FromContext(ctx)
	if !ok || p.Leases == nil {
		return nil
	}
	rs := make([]*leasesapi.Resource, len(ids))
	for i, id := range ids {
		rs[i] = &leasesapi.Resource{ID: id, Type: typ}
	}
	if err := p.Leases.AddResource(ctx, l, rs...); err != nil {
		return fmt.Errorf("hold %s %v under the pull's lease: %w", typ, ids, err)
	}
	return nil
}

// holdContent holds a blob; holdSnapshot a committed snapshot, and with
// it the keys of snapshots about to be prepared (snapshotd holds those
// again as it prepares them, which then writes nothing).
func (p *Puller) holdContent(ctx context.Context, dgst string) error {
	return p.holdExisting(ctx, "content", dgst)
}

func (p *Puller) holdSnapshot(ctx context.Context, sn string, names ...string) error {
	return p.holdExisting(ctx, "snapshots/"+sn, names...)
}
