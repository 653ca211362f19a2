package gc

import (
	"context"
	"fmt"
	"time"

	snapshotsapi "github.com/containerd/containerd/api/services/snapshots/v1"
	"github.com/containerd/errdefs"
	"go.uber.org/zap"

	"berth.dev/pkg/log"
	"berth.dev/pkg/snapshotdclient"
	"berth.dev/pkg/taskdclient"
)

// Snapshotters are the snapshotters whose snapshots are collected.
var Snapshotters = []string{"overlayfs", "native"}

// RemoteSnapshots sweeps snapshotd's snapshots, keeping what content,
// leases and taskd's containers reference and their ancestry.
type RemoteSnapshots struct {
	Snapshots *snapshotdclient.Client
	Tasks     *taskdclient.Client
}

// List lists ns's snapshots of every snapshotter.
func (r *RemoteSnapshots) List(ctx context.Context, ns string) (Listing, error) {
	out := Listing{}
	for _, sn := range Snapshotters {
		infos, err := r.Snapshots.List(ctx, sn)
		if err != nil {
			return nil, fmt.Errorf("list %s snapshots: %w", sn, err)
		}
		out[sn] = infos
	}
	return out, nil
}

// Sweep removes the listed snapshots of ns nothing references. When taskd
// cannot answer it removes nothing: a snapshot is never removed on doubt.
// Each removal is conditional on the snapshot's creation stamp, so a
// snapshot created again under a listed key stays.
func (r *RemoteSnapshots) Sweep(ctx context.Context, ns string, listed Listing, keep map[string]map[string]bool) error {
	containers, err := r.Tasks.Containers(ctx)
	if err != nil {
		return fmt.Errorf("snapshot sweep skipped: containers unknown: %w", err)
	}
	for _, c := range containers {
		if c.SnapshotKey != "" {
			keepSnapshot(keep, c.Snapshotter, c.SnapshotKey)
		}
	}
	for sn, infos := range listed {
		created := map[string]time.Time{}
		for _, i := range infos {
			created[i.Name] = i.GetCreatedAt().AsTime()
		}
		for _, key := range unreferenced(infos, keep[sn]) {
			err := r.Snapshots.RemoveIfCreated(ctx, sn, key, created[key])
			switch {
			case err == nil:
				log.G(ctx).Debug("collected snapshot", zap.String("namespace", ns), zap.String("key", key))
			case errdefs.IsNotFound(err), errdefs.IsFailedPrecondition(err):
				// Gone, created again, given a child or being written since
				// the listing: the next collection looks again.
				log.G(ctx).Debug("snapshot not collected", zap.String("namespace", ns), zap.String("key", key), zap.Error(err))
			default:
				return fmt.Errorf("remove snapshot %s: %w", key, err)
			}
		}
	}
	return nil
}

func keepSnapshot(keep map[string]map[string]bool, sn, key string) {
	if keep[sn] == nil {
		keep[sn] = map[string]bool{}
	}
	keep[sn][key] = true
}

// unreferenced returns the snapshots to remove, children before parents:
// everything not kept and not an ancestor of something kept.
func unreferenced(infos []*snapshotsapi.Info, keep map[string]bool) []string {
	byName := map[string]*snapshotsapi.Info{}
	for _, i := range infos {
		byName[i.Name] = i
	}
	live := map[string]bool{}
	roots := map[string]bool{}
	for k := range keep {
		roots[k] = true
	}
	for _, i := range infos {
		// ctr labels the snapshots it prepares by hand as roots.
		if _, ok := i.Labels[rootLabel]; ok {
			roots[i.Name] = true
		}
	}
	for k := range roots {
		for cur := k; cur != "" && !live[cur]; {
			live[cur] = true
			if i, ok := byName[cur]; ok {
				cur = i.Parent
			} else {
				cur = ""
			}
		}
	}
	children := map[string]int{}
	for _, i := range infos {
		if i.Parent != "" {
			children[i.Parent]++
		}
	}
	var out []string
	removed := map[string]bool{}
	for progress := true; progress; {
		progress = false
		for _, i := range infos {
			if live[i.Name] || removed[i.Name] || children[i.Name] > 0 {
				continue
			}
			out = append(out, i.Name)
			removed[i.Name] = true
			if i.Parent != "" {
				children[i.Parent]--
			}
			progress = true
		}
	}
	return out
}
