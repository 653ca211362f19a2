package cri

import (
	"context"
	"fmt"

	"github.com/containerd/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"berth.dev/services/gateway/internal/cri/store"
)

// RemovePodSandbox stops the pod if needed and removes it with its
// containers. A pod Berth does not know is removed already.
func (s *RuntimeService) RemovePodSandbox(ctx context.Context, req *runtimeapi.RemovePodSandboxRequest) (*runtimeapi.RemovePodSandboxResponse, error) {
	sb, err := s.Store.ResolveSandbox(req.GetPodSandboxId())
	if errdefs.IsNotFound(err) {
		return &runtimeapi.RemovePodSandboxResponse{}, nil
	}
	if err != nil {
		return nil, err
	}
	// A pod StopPodSandbox stopped has nothing running and no network:
	// containers cannot be created or started in it any more.
	if sb.State != store.SandboxNotReady || sb.NetNS != "" || sb.Pid != 0 {
		if err := s.stopSandbox(ctx, sb); err != nil {
			return nil, err
		}
	}
	containers, err := s.sandboxContainers(sb.ID)
	if err != nil {
		return nil, err
	}
	for _, c := range containers {
		if err := s.removeContainer(ctx, c); err != nil {
			return nil, err
		}
	}
	dctx := daemonCtx(ctx)
	err = parallel(func() error {
		if err := s.Tasks.DeleteContainer(dctx, sb.ID); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("delete pause container: %w", err)
		}
		return nil
	}, func() error {
		if err := s.Snapshots.Remove(dctx, s.Snapshotter, sb.ID); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("remove sandbox rootfs: %w", err)
		}
		return nil
	}, func() error { return removeSandboxFiles(sb.Dir) })
	if err != nil {
		return nil, err
	}
	var last *runtimeapi.PodSandboxStatusResponse
	if s.events.active() {
		last, _ = s.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sb.ID})
	}
	if err := s.Store.DeleteSandbox(ctx, sb.ID); err != nil {
		return nil, err
	}
	s.emitSandbox(ctx, sb.ID, runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT, last)
	return &runtimeapi.RemovePodSandboxResponse{}, nil
}
