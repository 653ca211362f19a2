package server

import (
	"context"
	"encoding/json"
	"fmt"

	api "github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/api/types"
	"github.com/containerd/containerd/api/types/runc/options"
	"github.com/containerd/containerd/api/types/task"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"berth.dev/pkg/filters"
	"berth.dev/pkg/log"
	"berth.dev/services/taskd/internal/shim"
	taskpkg "berth.dev/services/taskd/internal/task"
)

// Tasks serves containerd.services.tasks.v1.
type Tasks struct {
	api.UnimplementedTasksServer
	Manager *taskpkg.Manager
}

// Register adds the service to srv.
func (s *Tasks) Register(srv *grpc.Server) { api.RegisterTasksServer(srv, s) }

var statuses = map[string]task.Status{
	shim.StatusCreated: task.Status_CREATED, shim.StatusRunning: task.Status_RUNNING,
	shim.StatusStopped: task.Status_STOPPED, shim.StatusPaused: task.Status_PAUSED,
}

func toProcess(id string, st shim.State) *task.Process {
	p := &task.Process{ContainerID: id, ID: st.ExecID, Pid: uint32(st.Pid), Status: statuses[st.Status],
		Stdin: st.Stdio.Stdin, Stdout: st.Stdio.Stdout, Stderr: st.Stdio.Stderr, Terminal: st.Stdio.Terminal, ExitStatus: st.ExitStatus}
	if p.ID == "" {
		p.ID = id
	}
	if !st.ExitedAt.IsZero() {
		p.ExitedAt = timestamppb.New(st.ExitedAt)
	}
	return p
}

func (s *Tasks) Create(ctx context.Context, req *api.CreateTaskRequest) (*api.CreateTaskResponse, error) {
	t, err := s.Manager.Create(ctx, req)
	if err != nil {
		return nil, err
	}
	return &api.CreateTaskResponse{ContainerID: t.ID, Pid: uint32(t.Pid)}, nil
}

func (s *Tasks) Start(ctx context.Context, req *api.StartRequest) (*api.StartResponse, error) {
	st, err := s.Manager.Start(ctx, req.ContainerID, req.ExecID)
	if err != nil {
		return nil, err
	}
	return &api.StartResponse{Pid: uint32(st.Pid)}, nil
}

func (s *Tasks) Delete(ctx context.Context, req *api.DeleteTaskRequest) (*api.DeleteResponse, error) {
	st, err := s.Manager.Delete(ctx, req.ContainerID)
	if err != nil {
		return nil, err
	}
	return &api.DeleteResponse{ID: req.ContainerID, Pid: uint32(st.Pid), ExitStatus: st.ExitStatus, ExitedAt: timestamppb.New(st.ExitedAt)}, nil
}

func (s *Tasks) DeleteProcess(ctx context.Context, req *api.DeleteProcessRequest) (*api.DeleteResponse, error) {
	st, err := s.Manager.DeleteProcess(ctx, req.ContainerID, req.ExecID)
	if err != nil {
		return nil, err
	}
	return &api.DeleteResponse{ID: req.ExecID, Pid: uint32(st.Pid), ExitStatus: st.ExitStatus, ExitedAt: timestamppb.New(st.ExitedAt)}, nil
}

func (s *Tasks) Get(ctx context.Context, req *api.GetRequest) (*api.GetResponse, error) {
	_, st, err := s.Manager.State(ctx, req.ContainerID, req.ExecID)
	if err != nil {
		return nil, err
	}
	return &api.GetResponse{Process: toProcess(req.ContainerID, st)}, nil
}

func (s *Tasks) List(ctx context.Context, _ *api.ListTasksRequest) (*api.ListTasksResponse, error) {
	ls, err := s.Manager.ListStates(ctx)
	if err != nil {
		return nil, err
	}
	resp := &api.ListTasksResponse{}
	for _, l := range ls {
		resp.Tasks = append(resp.Tasks, toProcess(l.Task.ID, l.State))
	}
	return resp, nil
}

func (s *Tasks) Kill(ctx context.Context, req *api.KillRequest) (*emptypb.Empty, error) {
	if err := s.Manager.Kill(ctx, req.ContainerID, req.ExecID, req.Signal, req.All); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func (s *Tasks) Exec(ctx context.Context, req *api.ExecProcessRequest) (*emptypb.Empty, error) {
	if err := s.Manager.Exec(ctx, req); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func (s *Tasks) ResizePty(ctx context.Context, req *api.ResizePtyRequest) (*emptypb.Empty, error) {
	c, err := s.Manager.Shim(ctx, req.ContainerID)
	if err != nil {
		return nil, err
	}
	if err := c.ResizePty(shim.ResizeRequest{ExecID: req.ExecID, Width: req.Width, Height: req.Height}); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func (s *Tasks) CloseIO(ctx context.Context, req *api.CloseIORequest) (*emptypb.Empty, error) {
	c, err := s.Manager.Shim(ctx, req.ContainerID)
	if err != nil {
		return nil, err
	}
	if req.Stdin {
		if err := c.CloseIO(req.ExecID); err != nil {
			return nil, err
		}
	}
	return &emptypb.Empty{}, nil
}

func (s *Tasks) Pause(ctx context.Context, req *api.PauseTaskRequest) (*emptypb.Empty, error) {
	if err := s.Manager.Pause(ctx, req.ContainerID); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func (s *Tasks) Resume(ctx context.Context, req *api.ResumeTaskRequest) (*emptypb.Empty, error) {
	if err := s.Manager.Resume(ctx, req.ContainerID); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func (s *Tasks) ListPids(ctx context.Context, req *api.ListPidsRequest) (*api.ListPidsResponse, error) {
	c, err := s.Manager.Shim(ctx, req.ContainerID)
	if err != nil {
		return nil, err
	}
	pids, err := c.Pids()
	if err != nil {
		return nil, err
	}
	resp := &api.ListPidsResponse{}
	for _, pid := range pids.Pids {
		info := &task.ProcessInfo{Pid: uint32(pid)}
		if execID, ok := pids.Exec[pid]; ok {
			info.Info, _ = typeurl.MarshalAnyToProto(&options.ProcessDetails{ExecID: execID})
		}
		resp.Processes = append(resp.Processes, info)
	}
	return resp, nil
}

func (s *Tasks) Update(ctx context.Context, req *api.UpdateTaskRequest) (*emptypb.Empty, error) {
	c, err := s.Manager.Shim(ctx, req.ContainerID)
	if err != nil {
		return nil, err
	}
	if req.Resources == nil {
		return nil, fmt.Errorf("update needs resources: %w", errdefs.ErrInvalidArgument)
	}
	if !json.Valid(req.Resources.Value) {
		return nil, fmt.Errorf("resources must be runtime-spec LinuxResources JSON: %w", errdefs.ErrInvalidArgument)
	}
	if err := c.Update(shim.UpdateRequest{Resources: req.Resources.Value}); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func (s *Tasks) Metrics(ctx context.Context, req *api.MetricsRequest) (*api.MetricsResponse, error) {
	ts, err := s.Manager.List(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, t := range ts {
		if matches(t.ID, req.Filters) {
			ids = append(ids, t.ID)
		}
	}
	return &api.MetricsResponse{Metrics: collectMetrics(ctx, ids, s.Manager.Metrics)}, nil
}

// collectMetrics gathers the figures of each task that can give them. A
// task whose shim is going away as it is asked (it exited, it is being
// deleted) is left out rather than failing the whole list, as containerd
// does: the kubelet lists every container's stats while pods come and go.
func collectMetrics(ctx context.Context, ids []string, metric func(context.Context, string) (*types.Metric, error)) []*types.Metric {
	var out []*types.Metric
	for _, id := range ids {
		m, err := metric(ctx, id)
		if err != nil {
			if !errdefs.IsNotFound(err) {
				log.G(ctx).Warn("collect task metrics", zap.String("id", id), zap.Error(err))
			}
			continue
		}
		out = append(out, m)
	}
	return out
}

func (s *Tasks) Wait(ctx context.Context, req *api.WaitRequest) (*api.WaitResponse, error) {
	st, err := s.Manager.Wait(ctx, req.ContainerID, req.ExecID)
	if err != nil {
		return nil, err
	}
	return &api.WaitResponse{ExitStatus: st.ExitStatus, ExitedAt: timestamppb.New(st.ExitedAt)}, nil
}

func (s *Tasks) Checkpoint(context.Context, *api.CheckpointTaskRequest) (*api.CheckpointTaskResponse, error) {
	return nil, fmt.Errorf("checkpointing needs CRIU, which Berth does not drive: %w", errdefs.ErrNotImplemented)
}

// matches applies metrics filters (id==...).
func matches(id string, fs []string) bool {
	f, err := filters.Parse(fs...)
	if err != nil {
		return false
	}
	return f.Match(filters.AdapterFunc(func(p []string) (string, bool) {
		if p[0] == "id" {
			return id, true
		}
		return "", false
	}))
}
