package cri

import (
	"context"
	"time"

	"github.com/containerd/containerd/api/types/task"
	"github.com/containerd/errdefs"
	"go.uber.org/zap"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"berth.dev/pkg/log"
	"berth.dev/services/gateway/internal/cri/store"
)

// applyExit records a container's exit, once, and deletes its task so its
// shim goes away; the record, rootfs and log stay until RemoveContainer.
func (s *RuntimeService) applyExit(ctx context.Context, id string, e exit) error {
	unlock := s.locks.lock(id)
	defer unlock()
	deleted := true
	if err := s.deleteTask(ctx, id); err != nil {
		deleted = false
		log.G(ctx).Warn("delete exited task", zap.String("id", id), zap.Error(err))
	}
	changed := false
	_, err := s.Store.UpdateContainer(ctx, id, func(rec *store.Container) error {
		// Set on every run: a run the store repeats sees the record anew.
		changed = rec.State != store.ContainerExited
		if !changed {
			return store.ErrUnchanged
		}
		rec.State, rec.ExitCode, rec.FinishedAt = store.ContainerExited, int32(e.code), e.at
		if rec.StartedAt.IsZero() {
			rec.StartedAt = e.at
		}
		switch {
		case rec.OOMKilled:
			rec.Reason = "OOMKilled"
		case e.code == 0:
			rec.Reason = "Completed"
		default:
			rec.Reason = "Error"
		}
		return nil
	})
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if deleted {
		// Recorded and its task gone: a later exit event or removal
		// need not ask taskd again.
		s.tasksGone.Store(id, struct{}{})
	}
	if changed {
		s.emit(ctx, id, runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT)
	}
	return nil
}

// applySandboxExit marks a pod whose pause process ended not ready; its
// network stays until StopPodSandbox.
func (s *RuntimeService) applySandboxExit(ctx context.Context, id string) error {
	if err := s.deleteTask(ctx, id); err != nil {
		log.G(ctx).Warn("delete exited pause task", zap.String("id", id), zap.Error(err))
	}
	changed := false
	_, err := s.Store.UpdateSandbox(ctx, id, func(rec *store.Sandbox) error {
		changed = rec.State != store.SandboxNotReady
		if !changed {
			return store.ErrUnchanged
		}
		rec.State = store.SandboxNotReady
		return nil
	})
	if errdefs.IsNotFound(err) {
		return nil
	}
	if changed {
		s.emitSandbox(ctx, id, runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT, nil)
	}
	return err
}

// handleExit applies a task exit for whichever CRI object it belongs to.
func (s *RuntimeService) handleExit(ctx context.Context, id string, e exit) error {
	if _, applied := s.tasksGone.Load(id); applied {
		return nil // StopContainer recorded it and deleted the task
	}
	if _, err := s.Store.Container(id); err == nil {
		return s.applyExit(ctx, id, e)
	}
	if _, err := s.Store.Sandbox(id); err == nil {
		return s.applySandboxExit(ctx, id)
	}
	return nil
}

// handleOOM notes that a container was OOM-killed; its exit follows.
func (s *RuntimeService) handleOOM(ctx context.Context, id string) error {
	_, err := s.Store.UpdateContainer(ctx, id, func(rec *store.Container) error {
		if rec.OOMKilled {
			return store.ErrUnchanged
		}
		rec.OOMKilled = true
		if rec.State == store.ContainerExited {
			rec.Reason = "OOMKilled"
		}
		return nil
	})
	if errdefs.IsNotFound(err) {
		return nil
	}
	return err
}

// Reconcile brings every record in line with taskd's tasks: exits that
// happened while the gateway was away and were not yet delivered.
func (s *RuntimeService) Reconcile(ctx context.Context) error {
	dctx := daemonCtx(ctx)
	if err := s.dropVoidContainers(dctx); err != nil {
		return err
	}
	containers, err := s.Store.Containers()
	if err != nil {
		return err
	}
	for _, c := range containers {
		if c.State != store.ContainerRunning {
			continue
		}
		if e, done, err := s.taskExited(dctx, c.ID); err != nil {
			return err
		} else if done {
			if err := s.applyExit(dctx, c.ID, e); err != nil {
				return err
			}
		}
	}
	sandboxes, err := s.Store.Sandboxes()
	if err != nil {
		return err
	}
	for _, sb := range sandboxes {
		if sb.State != store.SandboxReady {
			continue
		}
		if _, done, err := s.taskExited(dctx, sb.ID); err != nil {
			return err
		} else if done {
			if err := s.applySandboxExit(dctx, sb.ID); err != nil {
				return err
			}
		}
	}
	if err := s.sweepRootfs(dctx); err != nil {
		log.G(ctx).Warn("sweep orphaned rootfs snapshots", zap.Error(err))
	}
	return nil
}

// dropVoidContainers deletes the records of containers an earlier run made
// that taskd has no container of: a removal whose record deletion a crash
// cut short (RemoveContainer commits it after its answer, once taskd's
// deletion is durable), or a create a crash cut short before taskd
// recorded the container. Their rootfs snapshots go with them.
func (s *RuntimeService) dropVoidContainers(ctx context.Context) error {
	records, err := s.Store.Containers()
	if err != nil || len(records) == 0 {
		return err
	}
	known, err := s.Tasks.Containers(ctx)
	if err != nil {
		return err
	}
	inTaskd := map[string]bool{}
	for _, c := range known {
		inTaskd[c.ID] = true
	}
	for _, c := range records {
		// A container this run records may reach taskd in a moment.
		if inTaskd[c.ID] || !c.CreatedAt.Before(s.started) {
			continue
		}
		// taskd's DeleteContainer of the id undoes a preparation of its
		// task (PrepareTask) that may hold the rootfs mounted.
		if err := s.Tasks.DeleteContainer(ctx, c.ID); err != nil && !errdefs.IsNotFound(err) {
			return err
		}
		if err := s.Store.DeleteContainer(ctx, c.ID); err != nil {
			return err
		}
		log.G(ctx).Info("dropped the record of a container taskd does not have", zap.String("id", c.ID))
		s.removeRootfsLater(ctx, c.ID)
	}
	return nil
}

// taskExited asks taskd whether a task has ended.
func (s *RuntimeService) taskExited(ctx context.Context, id string) (exit, bool, error) {
	p, err := s.Tasks.Task(ctx, id)
	if errdefs.IsNotFound(err) {
		return exit{code: 255, at: time.Now()}, true, nil
	}
	if err != nil {
		return exit{}, false, err
	}
	if p.Status == task.Status_STOPPED {
		e := exit{code: p.ExitStatus, at: time.Now()}
		if p.ExitedAt != nil {
			e.at = p.ExitedAt.AsTime()
		}
		return e, true, nil
	}
	return exit{}, false, nil
}
