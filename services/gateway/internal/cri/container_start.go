package cri

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/containerd/errdefs"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	tasksv1 "berth.dev/proto/berth/tasks/v1"
	"berth.dev/services/gateway/internal/cri/spec"
	"berth.dev/services/gateway/internal/cri/store"
)

// StartContainer creates the container's task, its output going to the
// CRI log file, and starts it.
func (s *RuntimeService) StartContainer(ctx context.Context, req *runtimeapi.StartContainerRequest) (_ *runtimeapi.StartContainerResponse, err error) {
	c, err := s.Store.ResolveContainer(req.GetContainerId())
	if err != nil {
		return nil, err
	}
	if c.State != store.ContainerCreated {
		return nil, fmt.Errorf("container %s is %s, not created: %w", c.ID, c.State, errdefs.ErrFailedPrecondition)
	}
	sb, err := s.Store.Sandbox(c.SandboxID)
	if err != nil {
		return nil, err
	}
	if sb.State != store.SandboxReady {
		return nil, fmt.Errorf("sandbox %s is not ready: %w", sb.ID, errdefs.ErrFailedPrecondition)
	}
	cfg := containerConfig(c)
	// taskd creates and starts the task in one call (berth.tasks.v1
	// RunTask): containerd's CreateTask, UpdateTask for the container's
	// resources, and Start, with one round trip instead of two or three.
	run := &tasksv1.RunTaskRequest{ContainerId: c.ID, Rootfs: toTaskdMounts(c.Rootfs), Terminal: cfg.GetTty()}
	if c.LogPath != "" {
		if err := os.MkdirAll(filepath.Dir(c.LogPath), 0o755); err != nil {
			return nil, fmt.Errorf("log directory: %w", err)
		}
		run.Stdout = "crilog://" + c.LogPath
		run.Stderr = run.Stdout
	}
	if cfg.GetStdin() {
		run.Stdin = "attach://"
		// The shim closes a once stdin when the first attach's input
		// ends or its client leaves. With a terminal containerd never
		// closes it that way (kubectl attach -it detaches and comes
		// back), so neither does Berth.
		if cfg.GetStdinOnce() && !cfg.GetTty() {
			run.Stdin += "?once=true"
		}
	}
	dctx := daemonCtx(context.WithoutCancel(ctx))
	if len(c.Resources) > 0 {
		if run.Resources, err = resourcesAny(c.Resources); err != nil {
			s.recordStartError(dctx, c.ID, err)
			return nil, err
		}
	}
	unlock := s.locks.lock(c.ID)
	defer unlock()
	pid, err := s.Tasks.RunTask(dctx, run)
	if errdefs.IsAlreadyExists(err) {
		// Another start's task: not this call's to remove.
		s.recordStartError(dctx, c.ID, err)
		return nil, err
	}
	if err != nil {
		// A task that was created and failed to update or start is killed
		// and deleted; one that failed to be created is not there.
		s.failStart(dctx, c.ID, err)
		return nil, err
	}
	now := time.Now()
	_, err = s.Store.UpdateContainer(dctx, c.ID, func(rec *store.Container) error {
		// An exit seen before this update wins; it set the times.
		rec.Pid = pid
		if rec.State == store.ContainerExited {
			return nil
		}
		rec.State, rec.StartedAt = store.ContainerRunning, now
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.emit(ctx, c.ID, runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT)
	return &runtimeapi.StartContainerResponse{}, nil
}

func (s *RuntimeService) failStart(ctx context.Context, id string, err error) {
	s.Tasks.KillTask(ctx, id, 9, true)
	s.waitExit(ctx, id, 10*time.Second)
	s.deleteTask(ctx, id)
	s.recordStartError(ctx, id, err)
}

// recordStartError marks a container that could not start as exited with
// containerd's code and reason, so the kubelet reports why.
func (s *RuntimeService) recordStartError(ctx context.Context, id string, err error) {
	now := time.Now()
	s.Store.UpdateContainer(ctx, id, func(rec *store.Container) error {
		rec.State, rec.ExitCode, rec.Reason, rec.Message = store.ContainerExited, 128, "StartError", err.Error()
		rec.StartedAt, rec.FinishedAt = now, now
		return nil
	})
}

// applyResources hands LinuxContainerResources (protobuf) to the task.
func (s *RuntimeService) applyResources(ctx context.Context, id string, raw []byte) error {
	a, err := resourcesAny(raw)
	if err != nil {
		return err
	}
	return s.Tasks.UpdateTask(ctx, id, a)
}

// resourcesAny is LinuxContainerResources (protobuf) as taskd takes them:
// runtime-spec LinuxResources in JSON.
func resourcesAny(raw []byte) (*anypb.Any, error) {
	r := &runtimeapi.LinuxContainerResources{}
	if err := proto.Unmarshal(raw, r); err != nil {
		return nil, err
	}
	b, err := json.Marshal(spec.Resources(r, nil))
	if err != nil {
		return nil, err
	}
	return &anypb.Any{TypeUrl: "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources", Value: b}, nil
}

func toTaskdMounts(ms []store.Mount) []*tasksv1.Mount {
	out := make([]*tasksv1.Mount, len(ms))
	for i, m := range ms {
		out[i] = &tasksv1.Mount{Type: m.Type, Source: m.Source, Target: m.Target, Options: m.Options}
	}
	return out
}

func containerConfig(c *store.Container) *runtimeapi.ContainerConfig {
	cfg := &runtimeapi.ContainerConfig{}
	proto.Unmarshal(c.Config, cfg)
	return cfg
}
