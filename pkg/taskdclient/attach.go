package taskdclient

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/containerd/containerd/api/types"
	"github.com/containerd/errdefs"
	"google.golang.org/protobuf/types/known/anypb"

	tasksv1 "berth.dev/proto/berth/tasks/v1"
)

// ReopenLog makes the shim of task id (in the namespace of ctx) reopen its
// log file, after the caller renamed it (log rotation).
func (c *Client) ReopenLog(ctx context.Context, id string) error {
	_, err := tasksv1.NewTasksClient(c.cc).ReopenLog(ctx, &tasksv1.ReopenLogRequest{ContainerId: id})
	return err
}

// PrepareTask has taskd make ahead what the task of container id (in the
// namespace of ctx) needs before the runtime's create, from the
// container's spec and runtime options (opts, may be nil): its shim,
// bundle and rootfs mounted, so that a later CreateTask with the same
// rootfs only creates the init process. It may be sent before the
// container is recorded; DeleteContainer of id undoes it.
func (c *Client) PrepareTask(ctx context.Context, id string, spec, opts *anypb.Any, rootfs []*types.Mount) error {
	req := &tasksv1.PrepareTaskRequest{ContainerId: id, Spec: spec, RuntimeOptions: opts}
	for _, m := range rootfs {
		req.Rootfs = append(req.Rootfs, &tasksv1.Mount{Type: m.Type, Source: m.Source, Target: m.Target, Options: m.Options})
	}
	_, err := tasksv1.NewTasksClient(c.cc).PrepareTask(ctx, req)
	return err
}

// RunTask creates the task of req's container and starts it in one call
// (CreateTask, UpdateTask with req's resources if set, Start) and returns
// the init process's pid. A task whose update or start failed stays
// created.
func (c *Client) RunTask(ctx context.Context, req *tasksv1.RunTaskRequest) (uint32, error) {
	resp, err := tasksv1.NewTasksClient(c.cc).RunTask(ctx, req)
	if err != nil {
		return 0, err
	}
	return resp.Pid, nil
}

// AttachStream is a caller's end of a task's live stdio.
type AttachStream struct {
	s tasksv1.Tasks_AttachClient
}

// AttachedHeader is the header metadata key taskd sends on an Attach stream
// once the caller is attached: output written from then on reaches it.
const AttachedHeader = "berth-attached"

// Attach joins the live stdio of task id's init process (in the namespace
// of ctx) and returns once attached, so all output written after it
// returns is received; an unknown task is errdefs.ErrNotFound. Cancelling
// ctx leaves it.
func (c *Client) Attach(ctx context.Context, id string) (*AttachStream, error) {
	s, err := tasksv1.NewTasksClient(c.cc).Attach(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.Send(&tasksv1.AttachRequest{ContainerId: id}); err != nil {
		return nil, err
	}
	md, err := s.Header()
	if err != nil {
		return nil, err
	}
	if len(md.Get(AttachedHeader)) == 0 {
		// The stream ended without attaching: its status says why.
		if _, err := s.Recv(); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		return nil, fmt.Errorf("attach to task %q: stream ended without attaching: %w", id, errdefs.ErrUnavailable)
	}
	return &AttachStream{s: s}, nil
}

// Recv returns the next output chunk; io.EOF once the process exited and
// its output was delivered. With a terminal every chunk is STDOUT.
func (a *AttachStream) Recv() (*tasksv1.AttachResponse, error) { return a.s.Recv() }

// Write sends p to the process's stdin.
func (a *AttachStream) Write(p []byte) (int, error) {
	if err := a.s.Send(&tasksv1.AttachRequest{Stdin: append([]byte(nil), p...)}); err != nil {
		return 0, err
	}
	return len(p), nil
}

// CloseStdin closes the process's stdin.
func (a *AttachStream) CloseStdin() error {
	return a.s.Send(&tasksv1.AttachRequest{CloseStdin: true})
}

// Resize resizes the process's terminal.
func (a *AttachStream) Resize(width, height uint32) error {
	return a.s.Send(&tasksv1.AttachRequest{Width: width, Height: height})
}

// CloseSend says the caller sends nothing more; output keeps coming. For a
// StdinOnce task (attach://?once=true) it closes the process's stdin.
func (a *AttachStream) CloseSend() error { return a.s.CloseSend() }
