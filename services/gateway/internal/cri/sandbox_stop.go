package cri

import (
	"context"
	"fmt"
	"syscall"

	"github.com/containerd/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"berth.dev/services/gateway/internal/cri/netns"
	"berth.dev/services/gateway/internal/cri/store"
)

// StopPodSandbox stops every container of the pod and its pause
// container, then releases its network. Stopping twice, or a pod Berth
// does not know, succeeds.
func (s *RuntimeService) StopPodSandbox(ctx context.Context, req *runtimeapi.StopPodSandboxRequest) (*runtimeapi.StopPodSandboxResponse, error) {
	sb, err := s.Store.ResolveSandbox(req.GetPodSandboxId())
	if errdefs.IsNotFound(err) {
		return &runtimeapi.StopPodSandboxResponse{}, nil
	}
	if err != nil {
		return nil, err
	}
	if err := s.stopSandbox(ctx, sb); err != nil {
		return nil, err
	}
	return &runtimeapi.StopPodSandboxResponse{}, nil
}

func (s *RuntimeService) stopSandbox(ctx context.Context, sb *store.Sandbox) error {
	dctx := daemonCtx(ctx)
	containers, err := s.sandboxContainers(sb.ID)
	if err != nil {
		return err
	}
	for _, c := range containers {
		if err := s.stopContainer(ctx, c, 0); err != nil {
			return err
		}
	}
	// The network is torn down while the pause container stops: neither
	// waits for the other, and the namespace stays pinned until both end.
	detached := make(chan error, 1)
	if sb.NetNS != "" {
		go func() { detached <- s.Network.Detach(dctx, s.cniPod(sb, sandboxConfig(sb))) }()
	} else {
		detached <- nil
	}
	_, err = s.stopTask(dctx, sb.ID, syscall.SIGKILL, 0)
	if err == nil {
		err = s.deleteTask(dctx, sb.ID)
	}
	if derr := <-detached; err == nil {
		err = derr
	}
	if err != nil {
		return err
	}
	if err := netns.Remove(sb.NetNS); err != nil {
		return err
	}
	unmountShm(sb.Dir)
	changed := false
	_, err = s.Store.UpdateSandbox(dctx, sb.ID, func(rec *store.Sandbox) error {
		// Set on every run: a run the store repeats sees the record anew.
		changed = rec.State != store.SandboxNotReady || rec.NetNS != ""
		if !changed {
			return store.ErrUnchanged
		}
		rec.State, rec.NetNS, rec.Pid = store.SandboxNotReady, "", 0
		return nil
	})
	if err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("record stopped sandbox: %w", err)
	}
	if changed {
		s.emitSandbox(ctx, sb.ID, runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT, nil)
	}
	return nil
}

// sandboxContainers returns the containers of a sandbox.
func (s *RuntimeService) sandboxContainers(id string) ([]*store.Container, error) {
	all, err := s.Store.Containers()
	if err != nil {
		return nil, err
	}
	var out []*store.Container
	for _, c := range all {
		if c.SandboxID == id {
			out = append(out, c)
		}
	}
	return out, nil
}
