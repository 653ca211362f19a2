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
		// The record as the exit left it, for the deleted event.
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
	// A preparation of the task still in flight is undone by taskd's
	// deletion only once it is made.
	s.prepared(c.ID)
	// taskd's deletion is durable before the answer, as containerd's is;
	// the CRI's record is gone to every caller at once and its deletion is
	// committed after the answer: a record a crash brings back has no
	// taskd container and Reconcile drops it. When taskd fails, the CRI's
	// record stays, so the kubelet's next RemoveContainer finishes the job.
	if err := s.Tasks.DeleteContainer(dctx, c.ID); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete container: %w", err)
	}
	s.Store.DeleteContainerLater(ctx, c.ID)
	// With the task and the container gone nothing uses the rootfs (taskd
	// unmounted one it mounted ahead, PrepareTask, as it deleted the
	// container). Its files go after the call answers, as containerd's
	// garbage collector deletes a removed container's snapshot; one a
	// crash leaves behind is swept by Reconcile.
	s.removeRootfsLater(dctx, c.ID)
	s.layerUsage.Delete(c.ID)
	s.tasksGone.Delete(c.ID)
	s.emitDeleted(ctx, c)
	s.locks.forget(c.ID)
	return nil
}
