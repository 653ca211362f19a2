package cri

import (
	"context"
	"fmt"

	"github.com/containerd/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"berth.dev/services/gateway/internal/cri/store"
)

// RemoveContainer kills the container if it runs and removes it with its
// rootfs. A container Berth does not know is removed already.
func (s *RuntimeService) RemoveContainer(ctx context.Context, req *runtimeapi.RemoveContainerRequest) (*runtimeapi.RemoveContainerResponse, error) {
	c, err := s.Store.ResolveContainer(req.GetContainerId())
	if errdefs.IsNotFound(err) {
		return &runtimeapi.RemoveContainerResponse{}, nil
	}
	if err != nil {
		return nil, err
	}
	if err := s.removeContainer(ctx, c); err != nil {
		return nil, err
	}
	return &runtimeapi.RemoveContainerResponse{}, nil
}

func (s *RuntimeService) removeContainer(ctx context.Context, c *store.Container) error {
	if err := s.stopContainer(ctx, c, 0); err != nil {
		return err
	}
	dctx := daemonCtx(ctx)
	if err := s.deleteTask(dctx, c.ID); err != nil {
		return err
	}
	if err := s.Tasks.DeleteContainer(dctx, c.ID); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete container: %w", err)
	}
	if err := s.Snapshots.Remove(dctx, s.Snapshotter, c.ID); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("remove rootfs: %w", err)
	}
	s.layerUsage.Delete(c.ID)
	if err := s.Store.DeleteContainer(c.ID); err != nil {
		return err
	}
	s.emitDeleted(ctx, c)
	s.locks.forget(c.ID)
	return nil
}
