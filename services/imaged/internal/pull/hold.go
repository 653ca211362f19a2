package pull

import (
	"context"
	"fmt"

	leasesapi "github.com/containerd/containerd/api/services/leases/v1"

	"berth.dev/pkg/lease"
)

// use puts a blob the pull relies on under its lease before the pull looks
// whether it is present: one found there (stored by an interrupted pull,
// or by another image) would otherwise be held by nothing until the image
// record exists, and a collection in between would delete it. A blob the
// pull then writes itself is held by its commit as well.
func (p *Puller) use(ctx context.Context, dgst string) error {
	return p.holdResource(ctx, &leasesapi.Resource{ID: dgst, Type: "content"})
}

// useSnapshot does the same for a layer's snapshot found committed.
func (p *Puller) useSnapshot(ctx context.Context, snapshotter, key string) error {
	return p.holdResource(ctx, &leasesapi.Resource{ID: key, Type: "snapshots/" + snapshotter})
}

func (p *Puller) holdResource(ctx context.Context, r *leasesapi.Resource) error {
	id, ok := lease.FromContext(ctx)
	if !ok || p.Leases == nil {
		return nil
	}
	if err := p.Leases.AddResource(ctx, id, r); err != nil {
		return fmt.Errorf("hold %s %s under lease %s: %w", r.Type, r.ID, id, err)
	}
	return nil
}
