package cri

import (
	"context"
	"fmt"

	"github.com/containerd/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"berth.dev/services/gateway/internal/cri/store"
)

// Streamer runs exec, attach and port-forward sessions.
type Streamer interface {
	ExecSync(ctx context.Context, req *runtimeapi.ExecSyncRequest) (*runtimeapi.ExecSyncResponse, error)
	Exec(ctx context.Context, req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error)
	Attach(ctx context.Context, req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error)
	PortForward(ctx context.Context, req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error)
}

// runningContainer returns a container that exists and runs.
func (s *RuntimeService) runningContainer(id string) (*store.Container, error) {
	if s.Streamer == nil {
		return nil, fmt.Errorf("streaming: %w", errdefs.ErrNotImplemented)
	}
	c, err := s.Store.ResolveContainer(id)
	if err != nil {
		return nil, err
	}
	if c.State != store.ContainerRunning {
		return nil, fmt.Errorf("container %s is not running: %w", c.ID, errdefs.ErrFailedPrecondition)
	}
	return c, nil
}

// ExecSync runs a command in a running container and returns its output.
func (s *RuntimeService) ExecSync(ctx context.Context, req *runtimeapi.ExecSyncRequest) (*runtimeapi.ExecSyncResponse, error) {
	c, err := s.runningContainer(req.GetContainerId())
	if err != nil {
		return nil, err
	}
	req.ContainerId = c.ID
	return s.Streamer.ExecSync(ctx, req)
}

// Exec returns the streaming URL of an exec session.
func (s *RuntimeService) Exec(ctx context.Context, req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	c, err := s.runningContainer(req.GetContainerId())
	if err != nil {
		return nil, err
	}
	if len(req.GetCmd()) == 0 {
		return nil, fmt.Errorf("exec needs a command: %w", errdefs.ErrInvalidArgument)
	}
	req.ContainerId = c.ID
	return s.Streamer.Exec(ctx, req)
}

// Attach returns the streaming URL of an attach session.
func (s *RuntimeService) Attach(ctx context.Context, req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	c, err := s.runningContainer(req.GetContainerId())
	if err != nil {
		return nil, err
	}
	req.ContainerId = c.ID
	return s.Streamer.Attach(ctx, req)
}

// PortForward returns the streaming URL of a port-forward session.
func (s *RuntimeService) PortForward(ctx context.Context, req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	if s.Streamer == nil {
		return nil, fmt.Errorf("streaming: %w", errdefs.ErrNotImplemented)
	}
	sb, err := s.Store.ResolveSandbox(req.GetPodSandboxId())
	if err != nil {
		return nil, err
	}
	if sb.State != store.SandboxReady {
		return nil, fmt.Errorf("sandbox %s is not ready: %w", sb.ID, errdefs.ErrFailedPrecondition)
	}
	req.PodSandboxId = sb.ID
	return s.Streamer.PortForward(ctx, req)
}

// SandboxNetNS returns the path of a ready pod's network namespace (the
// host's for a pod on the host network: empty path).
func (s *RuntimeService) SandboxNetNS(ctx context.Context, sandboxID string) (string, error) {
	sb, err := s.Store.ResolveSandbox(sandboxID)
	if err != nil {
		return "", err
	}
	if sb.State != store.SandboxReady {
		return "", fmt.Errorf("sandbox %s is not ready: %w", sb.ID, errdefs.ErrFailedPrecondition)
	}
	return sb.NetNS, nil
}

// ContainerStdin says whether a container has a stdin to attach to and
// whether it is StdinOnce, as its config set them.
func (s *RuntimeService) ContainerStdin(id string) (open, once bool, err error) {
	c, err := s.Store.ResolveContainer(id)
	if err != nil {
		return false, false, err
	}
	cfg := containerConfig(c)
	return cfg.GetStdin(), cfg.GetStdinOnce(), nil
}
