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
func (p *Puller) holdExisting(ctx context.Context, typ, id string) error {
	l, ok := lease.FromContext(ctx)
	if !ok || p.Leases == nil {
		return nil
	}
	if err := p.Leases.AddResource(ctx, l, &leasesapi.Resource{ID: id, Type: typ}); err != nil {
		return fmt.Errorf("hold %s %s under the pull's lease: %w", typ, id, err)
	}
	return nil
}

// holdContent holds a blob; holdSnapshot a committed snapshot.
func (p *Puller) holdContent(ctx context.Context, dgst string) error {
	return p.holdExisting(ctx, "content", dgst)
}

func (p *Puller) holdSnapshot(ctx context.Context, sn, name string) error {
	return p.holdExisting(ctx, "snapshots/"+sn, name)
}
