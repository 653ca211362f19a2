package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	tasksapi "github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/api/types"
	"github.com/containerd/errdefs"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"berth.dev/pkg/taskdclient"
	tasksv1 "berth.dev/proto/berth/tasks/v1"
	"berth.dev/services/taskd/internal/shim"
	taskpkg "berth.dev/services/taskd/internal/task"
)

// BerthTasks serves berth.tasks.v1: log reopening, attaching to a task's
// live stdio, and the CRI's task preparation and one-call create and start.
type BerthTasks struct {
	tasksv1.UnimplementedTasksServer
	Manager *taskpkg.Manager
}

// Register adds the service to srv.
func (s *BerthTasks) Register(srv *grpc.Server) { tasksv1.RegisterTasksServer(srv, s) }

func (s *BerthTasks) ReopenLog(ctx context.Context, req *tasksv1.ReopenLogRequest) (*tasksv1.ReopenLogResponse, error) {
	if req.ContainerId == "" {
		return nil, fmt.Errorf("container_id is required: %w", errdefs.ErrInvalidArgument)
	}
	if err := s.Manager.ReopenLog(ctx, req.ContainerId); err != nil {
		return nil, err
	}
	return &tasksv1.ReopenLogResponse{}, nil
}

// PrepareTask makes ahead what the container's task needs before the
// runtime's create (taskpkg.Manager.Prepare).
func (s *BerthTasks) PrepareTask(ctx context.Context, req *tasksv1.PrepareTaskRequest) (*tasksv1.PrepareTaskResponse, error) {
	if req.ContainerId == "" {
		return nil, fmt.Errorf("container_id is required: %w", errdefs.ErrInvalidArgument)
	}
	if err := s.Manager.Prepare(ctx, req.ContainerId, req.Spec, req.RuntimeOptions, toMounts(req.Rootfs)); err != nil {
		return nil, err
	}
	return &tasksv1.PrepareTaskResponse{}, nil
}

// RunTask creates the container's task and starts it: containerd's
// CreateTask, UpdateTask when resources are given, and Start in one call.
func (s *BerthTasks) RunTask(ctx context.Context, req *tasksv1.RunTaskRequest) (*tasksv1.RunTaskResponse, error) {
	if req.ContainerId == "" {
		return nil, fmt.Errorf("container_id is required: %w", errdefs.ErrInvalidArgument)
	}
	if r := req.Resources; r != nil && !json.Valid(r.Value) {
		return nil, fmt.Errorf("resources must be runtime-spec LinuxResources JSON: %w", errdefs.ErrInvalidArgument)
	}
	create := &tasksapi.CreateTaskRequest{ContainerID: req.ContainerId, Rootfs: toMounts(req.Rootfs),
		Stdin: req.Stdin, Stdout: req.Stdout, Stderr: req.Stderr, Terminal: req.Terminal}
	if _, err := s.Manager.Create(ctx, create); err != nil {
		return nil, err
	}
	if req.Resources != nil {
		c, err := s.Manager.Shim(ctx, req.ContainerId)
		if err == nil {
			err = c.Update(shim.UpdateRequest{Resources: req.Resources.Value})
		}
		if err != nil {
			return nil, fmt.Errorf("update task resources: %w", err)
		}
	}
	st, err := s.Manager.Start(ctx, req.ContainerId, "")
	if err != nil {
		return nil, fmt.Errorf("start task: %w", err)
	}
	return &tasksv1.RunTaskResponse{Pid: uint32(st.Pid)}, nil
}

func toMounts(ms []*tasksv1.Mount) []*types.Mount {
	out := make([]*types.Mount, len(ms))
	for i, m := range ms {
		out[i] = &types.Mount{Type: m.Type, Source: m.Source, Target: m.Target, Options: m.Options}
	}
	return out
}

// Attach relays between the caller's stream and the shim's attach
// connection until the process's output ends or the caller leaves.
func (s *BerthTasks) Attach(stream tasksv1.Tasks_AttachServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	if first.ContainerId == "" {
		return fmt.Errorf("the first attach message must name the container: %w", errdefs.ErrInvalidArgument)
	}
	conn, err := s.Manager.Attach(stream.Context(), first.ContainerId)
	if err != nil {
		return err
	}
	defer conn.Close()
	// The header tells the caller it is attached: output from now on
	// reaches it (pkg/taskdclient's Attach waits for it).
	if err := stream.SendHeader(metadata.Pairs(taskdclient.AttachedHeader, "true")); err != nil {
		return err
	}
	go relayInput(stream, conn, first)
	for {
		f, err := conn.Recv()
		if err != nil {
			// The output ended (or the shim went away): so does the stream.
			return nil
		}
		resp := &tasksv1.AttachResponse{Stream: tasksv1.AttachResponse_Stream(f.Stream), Data: f.Data}
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
}

// relayInput passes the caller's input to the shim. When the caller leaves,
// the shim connection closes, which ends Attach.
func relayInput(stream tasksv1.Tasks_AttachServer, conn *shim.AttachConn, req *tasksv1.AttachRequest) {
	for {
		in := shim.AttachInput{Stdin: req.Stdin, CloseStdin: req.CloseStdin, Width: req.Width, Height: req.Height}
		if len(in.Stdin) > 0 || in.CloseStdin || (in.Width > 0 && in.Height > 0) {
			if conn.Send(in) != nil {
				return
			}
		}
		var err error
		if req, err = stream.Recv(); err != nil {
			if errors.Is(err, io.EOF) {
				// The caller closed its side: it still reads output.
				conn.Send(shim.AttachInput{EndOfInput: true})
				<-stream.Context().Done()
			}
			conn.Close()
			return
		}
	}
}
