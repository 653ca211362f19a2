package cri

import (
	"context"
	"regexp"
	"time"

	snapshotsapi "github.com/containerd/containerd/api/services/snapshots/v1"
	"github.com/containerd/errdefs"
	"go.uber.org/zap"

	"berth.dev/pkg/log"
)

// removeRootfsLater removes a removed container's snapshot in the
// background.
func (s *RuntimeService) removeRootfsLater(ctx context.Context, id string) {
	ctx = context.WithoutCancel(ctx)
	s.cleanups.Add(1)
	go func() {
		defer s.cleanups.Done()
		if err := s.Snapshots.Remove(ctx, s.Snapshotter, id); err != nil && !errdefs.IsNotFound(err) {
			log.G(ctx).Warn("remove the rootfs of a removed container; Reconcile retries", zap.String("id", id), zap.Error(err))
		}
	}()
}

// orphanAge is how old a CRI-named snapshot without an owner must be
// before the sweep removes it: a younger one may belong to a
// CreateContainer or RunPodSandbox in flight, which prepares the snapshot
// before recording its owner.
const orphanAge = time.Minute

var criID = regexp.MustCompile(`^[0-9a-f]{64}$`)

// sweepRootfs removes the writable snapshots named like CRI ids that no
// CRI record and no taskd container owns: rootfs removals a crash cut
// short.
func (s *RuntimeService) sweepRootfs(ctx context.Context) error {
	if s.Snapshots == nil {
		return nil
	}
	infos, err := s.Snapshots.List(ctx, s.Snapshotter)
	if err != nil {
		return err
	}
	var candidates []string
	for _, info := range infos {
		if info.Kind != snapshotsapi.Kind_ACTIVE || !criID.MatchString(info.Name) ||
			info.CreatedAt == nil || time.Since(info.CreatedAt.AsTime()) < orphanAge {
			continue
		}
		candidates = append(candidates, info.Name)
	}
	if len(candidates) == 0 {
		return nil
	}
	owned := map[string]bool{}
	containers, err := s.Tasks.Containers(ctx)
	if err != nil {
		return err
	}
	for _, c := range containers {
		owned[c.SnapshotKey] = true
	}
	for _, key := range candidates {
		if owned[key] {
			continue
		}
		if _, err := s.Store.Container(key); !errdefs.IsNotFound(err) {
			continue
		}
		if _, err := s.Store.Sandbox(key); !errdefs.IsNotFound(err) {
			continue
		}
		if err := s.Snapshots.Remove(ctx, s.Snapshotter, key); err != nil && !errdefs.IsNotFound(err) {
			log.G(ctx).Warn("remove an orphaned rootfs", zap.String("key", key), zap.Error(err))
			continue
		}
		log.G(ctx).Info("removed an orphaned rootfs", zap.String("key", key))
	}
	return nil
}
