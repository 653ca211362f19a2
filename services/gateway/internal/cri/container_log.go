package cri

import (
	"context"
	"fmt"

	"github.com/containerd/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"berth.dev/services/gateway/internal/cri/store"
)

// ReopenContainerLog makes the container's shim reopen its log file after
// the kubelet rotated it.
func (s *RuntimeService) ReopenContainerLog(ctx context.Context, req *runtimeapi.ReopenContainerLogRequest) (*runtimeapi.ReopenContainerLogResponse, error) {
	c, err := s.Store.ResolveContainer(req.GetContainerId())
	if err != nil {
		return nil, err
	}
	if c.State != store.ContainerRunning {
		return nil, fmt.Errorf("container %s is not running: %w", c.ID, errdefs.ErrFailedPrecondition)
	}
	if err := s.Tasks.ReopenLog(daemonCtx(ctx), c.ID); err != nil {
		return nil, fmt.Errorf("reopen log of %s: %w", c.ID, err)
	}
	return &runtimeapi.ReopenContainerLogResponse{}, nil
}
