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
	if c.State == store.ContainerRunning {
		if err := s.stopContainer(ctx, c, 0); err != nil {
			return err
		}
		// The record as the exit left it, to restore on failure below.
		if cur, err := s.Store.Container(c.ID); err == nil {
			c = cur
		}
	}
	dctx := daemonCtx(ctx)
	// An exit this gateway applied deleted the task already.
	if _, gone := s.tasksGone.Load(c.ID); !gone {
		if err := s.deleteTask(dctx, c.ID); err != nil {
			return err
		}
	}
	// With the task gone nothing uses the rootfs. Its files go after the
	// call answers, as containerd's garbage collector deletes a removed
	// container's snapshot; one a crash leaves behind is swept by
	// Reconcile.
	s.removeRootfsLater(dctx, c.ID)
	// taskd's record and the CRI's go at once; when either fails the CRI's
	// is put back, so the kubelet's next RemoveContainer finishes the job.
	err := parallel(func() error {
		if err := s.Tasks.DeleteContainer(dctx, c.ID); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("delete container: %w", err)
		}
		return nil
	}, func() error { return s.Store.DeleteContainer(ctx, c.ID) })
	if err != nil {
		s.Store.AddContainer(context.WithoutCancel(ctx), c)
		return err
	}
	s.layerUsage.Delete(c.ID)
	s.tasksGone.Delete(c.ID)
	s.emitDeleted(ctx, c)
	s.locks.forget(c.ID)
	return nil
}
