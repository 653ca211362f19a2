package cri

import (
	"context"
	"fmt"

	"github.com/containerd/errdefs"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"berth.dev/services/gateway/internal/cri/store"
)

// UpdateContainerResources applies new cgroup limits: at once to a
// running container, at start to a created one.
func (s *RuntimeService) UpdateContainerResources(ctx context.Context, req *runtimeapi.UpdateContainerResourcesRequest) (*runtimeapi.UpdateContainerResourcesResponse, error) {
	c, err := s.Store.ResolveContainer(req.GetContainerId())
	if err != nil {
		return nil, err
	}
	r := req.GetLinux()
	if r == nil {
		return &runtimeapi.UpdateContainerResourcesResponse{}, nil
	}
	raw, err := proto.Marshal(r)
	if err != nil {
		return nil, err
	}
	switch c.State {
	case store.ContainerRunning:
		if err := s.applyResources(daemonCtx(ctx), c.ID, raw); err != nil {
			return nil, fmt.Errorf("update resources of %s: %w", c.ID, err)
		}
	case store.ContainerCreated:
	default:
		return nil, fmt.Errorf("container %s is %s: %w", c.ID, c.State, errdefs.ErrFailedPrecondition)
	}
	if _, err := s.Store.UpdateContainer(ctx, c.ID, func(rec *store.Container) error { rec.Resources = raw; return nil }); err != nil {
		return nil, err
	}
	return &runtimeapi.UpdateContainerResourcesResponse{}, nil
}
