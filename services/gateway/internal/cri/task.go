package cri

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/sys/signal"
)

// exit is how a task ended.
type exit struct {
	code uint32
	at   time.Time
}

// waitExit waits up to timeout for a task to exit; ok is false on timeout.
// A task taskd no longer knows has exited (how is not known).
func (s *RuntimeService) waitExit(ctx context.Context, id string, timeout time.Duration) (exit, bool, error) {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	code, at, err := s.Tasks.Wait(wctx, id, "")
	switch {
	case err == nil:
		return exit{code: code, at: at}, true, nil
	case errdefs.IsNotFound(err):
		return exit{code: 255, at: time.Now()}, true, nil
	case wctx.Err() != nil && ctx.Err() == nil:
		return exit{}, false, nil
	default:
		return exit{}, false, err
	}
}

// stopTask signals a task, then kills it after timeout, and waits for its
// exit. An absent task is stopped already.
func (s *RuntimeService) stopTask(ctx context.Context, id string, sig syscall.Signal, timeout time.Duration) (exit, error) {
	if timeout > 0 && sig != syscall.SIGKILL {
		if err := s.Tasks.KillTask(ctx, id, uint32(sig), false); err != nil && !errdefs.IsNotFound(err) {
			return exit{}, fmt.Errorf("signal %d to %s: %w", sig, id, err)
		}
		if e, ok, err := s.waitExit(ctx, id, timeout); err != nil || ok {
			return e, err
		}
	}
	if err := s.Tasks.KillTask(ctx, id, uint32(syscall.SIGKILL), true); err != nil && !errdefs.IsNotFound(err) {
		return exit{}, fmt.Errorf("kill %s: %w", id, err)
	}
	e, ok, err := s.waitExit(ctx, id, time.Minute)
	if err == nil && !ok {
		err = fmt.Errorf("task %s did not exit after SIGKILL: %w", id, errdefs.ErrUnavailable)
	}
	return e, err
}

// deleteTask removes a stopped task (its shim and rootfs mount); an
// absent one is fine.
func (s *RuntimeService) deleteTask(ctx context.Context, id string) error {
	if _, err := s.Tasks.DeleteTask(ctx, id); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete task %s: %w", id, err)
	}
	return nil
}

// parseSignal reads an image's StopSignal ("SIGTERM", "TERM", "15").
func parseSignal(name string) syscall.Signal {
	if name == "" {
		return syscall.SIGTERM
	}
	sig, err := signal.ParseSignal(name)
	if err != nil {
		return syscall.SIGTERM
	}
	return sig
}
