package cri

import (
	"context"
	"time"

	"github.com/containerd/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"berth.dev/services/gateway/internal/cri/store"
)

// StopContainer sends the image's stop signal, then SIGKILL after the
// timeout. A container Berth does not know, or one not running, is
// stopped already.
func (s *RuntimeService) StopContainer(ctx context.Context, req *runtimeapi.StopContainerRequest) (*runtimeapi.StopContainerResponse, error) {
	c, err := s.Store.ResolveContainer(req.GetContainerId())
	if errdefs.IsNotFound(err) {
		return &runtimeapi.StopContainerResponse{}, nil
	}
	if err != nil {
		return nil, err
	}
	if err := s.stopContainer(ctx, c, time.Duration(req.GetTimeout())*time.Second); err != nil {
		return nil, err
	}
	return &runtimeapi.StopContainerResponse{}, nil
}

func (s *RuntimeService) stopContainer(ctx context.Context, c *store.Container, timeout time.Duration) error {
	if c.State != store.ContainerRunning {
		return nil
	}
	dctx := daemonCtx(ctx)
	e, err := s.stopTask(dctx, c.ID, parseSignal(c.StopSignal), timeout)
	if err != nil {
		return err
	}
	return s.applyExit(dctx, c.ID, e)
}
