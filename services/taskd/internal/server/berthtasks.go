package server

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/containerd/containerd/api/types"
	"github.com/containerd/errdefs"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"berth.dev/pkg/taskdclient"
	tasksv1 "berth.dev/proto/berth/tasks/v1"
	"berth.dev/services/taskd/internal/shim"
	taskpkg "berth.dev/services/taskd/internal/task"
)

// BerthTasks serves berth.tasks.v1: log reopening and attaching to a task's
// live stdio.
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
	rootfs := make([]*types.Mount, len(req.Rootfs))
	for i, m := range req.Rootfs {
		rootfs[i] = &types.Mount{Type: m.Type, Source: m.Source, Target: m.Target, Options: m.Options}
	}
	if err := s.Manager.Prepare(ctx, req.ContainerId, req.Spec, req.RuntimeOptions, rootfs); err != nil {
		return nil, err
	}
	return &tasksv1.PrepareTaskResponse{}, nil
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
