package server

import (
	"context"

	api "github.com/containerd/containerd/api/services/snapshots/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"berth.dev/pkg/snapshotdclient"
	"berth.dev/services/snapshotd/internal/snapshot"
)

// Snapshots serves containerd.services.snapshots.v1.
type Snapshots struct {
	api.UnimplementedSnapshotsServer
	Manager *snapshot.Manager
}

// Register adds the service to srv.
func (s *Snapshots) Register(srv *grpc.Server) { api.RegisterSnapshotsServer(srv, s) }

func (s *Snapshots) Prepare(ctx context.Context, req *api.PrepareSnapshotRequest) (*api.PrepareSnapshotResponse, error) {
	mounts, err := s.Manager.Prepare(ctx, req.Snapshotter, req.Key, req.Parent, req.Labels, api.Kind_ACTIVE)
	if err != nil {
		return nil, err
	}
	return &api.PrepareSnapshotResponse{Mounts: mounts}, nil
}

func (s *Snapshots) View(ctx context.Context, req *api.ViewSnapshotRequest) (*api.ViewSnapshotResponse, error) {
	mounts, err := s.Manager.Prepare(ctx, req.Snapshotter, req.Key, req.Parent, req.Labels, api.Kind_VIEW)
	if err != nil {
		return nil, err
	}
	return &api.ViewSnapshotResponse{Mounts: mounts}, nil
}

func (s *Snapshots) Mounts(ctx context.Context, req *api.MountsRequest) (*api.MountsResponse, error) {
	mounts, err := s.Manager.Mounts(ctx, req.Snapshotter, req.Key)
	if err != nil {
		return nil, err
	}
	return &api.MountsResponse{Mounts: mounts}, nil
}

func (s *Snapshots) Commit(ctx context.Context, req *api.CommitSnapshotRequest) (*emptypb.Empty, error) {
	if err := s.Manager.Commit(ctx, req.Snapshotter, req.Name, req.Key, req.Parent, req.Labels); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func (s *Snapshots) Remove(ctx context.Context, req *api.RemoveSnapshotRequest) (*emptypb.Empty, error) {
	var opts []snapshot.RemoveOpt
	created, ok, err := snapshotdclient.CreatedFromContext(ctx)
	if err != nil {
		return nil, err
	}
	if ok {
		opts = append(opts, snapshot.IfCreated(created))
	}
	if err := s.Manager.Remove(ctx, req.Snapshotter, req.Key, opts...); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func (s *Snapshots) Stat(ctx context.Context, req *api.StatSnapshotRequest) (*api.StatSnapshotResponse, error) {
	info, err := s.Manager.Stat(ctx, req.Snapshotter, req.Key)
	if err != nil {
		return nil, err
	}
	return &api.StatSnapshotResponse{Info: info}, nil
}

func (s *Snapshots) Update(ctx context.Context, req *api.UpdateSnapshotRequest) (*api.UpdateSnapshotResponse, error) {
	info, err := s.Manager.Update(ctx, req.Snapshotter, req.Info, req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, err
	}
	return &api.UpdateSnapshotResponse{Info: info}, nil
}

func (s *Snapshots) List(req *api.ListSnapshotsRequest, ss api.Snapshots_ListServer) error {
	infos, err := s.Manager.List(ss.Context(), req.Snapshotter, req.Filters...)
	if err != nil {
		return err
	}
	for len(infos) > 0 {
		n := min(100, len(infos))
		if err := ss.Send(&api.ListSnapshotsResponse{Info: infos[:n]}); err != nil {
			return err
		}
		infos = infos[n:]
	}
	return nil
}

func (s *Snapshots) Usage(ctx context.Context, req *api.UsageRequest) (*api.UsageResponse, error) {
	size, inodes, err := s.Manager.Usage(ctx, req.Snapshotter, req.Key)
	if err != nil {
		return nil, err
	}
	return &api.UsageResponse{Size: size, Inodes: inodes}, nil
}

func (s *Snapshots) Cleanup(ctx context.Context, req *api.CleanupRequest) (*emptypb.Empty, error) {
	if err := s.Manager.Cleanup(ctx, req.Snapshotter); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}
