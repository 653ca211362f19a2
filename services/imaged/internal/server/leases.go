package server

import (
	"context"

	api "github.com/containerd/containerd/api/services/leases/v1"
	"github.com/containerd/errdefs"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"berth.dev/services/imaged/internal/gc"
	"berth.dev/services/imaged/internal/lease"
)

// Leases serves containerd.services.leases.v1.
type Leases struct {
	api.UnimplementedLeasesServer
	Store *lease.Store
	GC    *gc.Collector
}

// Register adds the service to srv.
func (s *Leases) Register(srv *grpc.Server) { api.RegisterLeasesServer(srv, s) }

func (s *Leases) Create(ctx context.Context, req *api.CreateRequest) (*api.CreateResponse, error) {
	l, err := s.Store.Create(ctx, req.ID, req.Labels)
	if err != nil {
		return nil, err
	}
	return &api.CreateResponse{Lease: l}, nil
}

func (s *Leases) Delete(ctx context.Context, req *api.DeleteRequest) (*emptypb.Empty, error) {
	// A delete asked is a delete meant: the gateway killed or the client
	// gone while it runs does not leave it half done.
	err := s.Store.Delete(context.WithoutCancel(ctx), req.ID)
	if err != nil && !(req.Sync && errdefs.IsNotFound(err)) {
		return nil, err
	}
	// A synchronous delete collects even when the lease is already gone:
	// a client that lost the answer to its first delete (imaged killed
	// between deleting the lease and collecting, a deadline) and asks
	// again must not get NotFound before what the lease held is
	// collected.
	if cerr := collect(ctx, s.GC, req.Sync); cerr != nil {
		return nil, cerr
	}
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func (s *Leases) List(ctx context.Context, req *api.ListRequest) (*api.ListResponse, error) {
	ls, err := s.Store.List(ctx, req.Filters...)
	if err != nil {
		return nil, err
	}
	return &api.ListResponse{Leases: ls}, nil
}

func (s *Leases) AddResource(ctx context.Context, req *api.AddResourceRequest) (*emptypb.Empty, error) {
	if err := s.Store.AddResource(ctx, req.ID, req.Resource); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func (s *Leases) DeleteResource(ctx context.Context, req *api.DeleteResourceRequest) (*emptypb.Empty, error) {
	if err := s.Store.DeleteResource(ctx, req.ID, req.Resource); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func (s *Leases) ListResources(ctx context.Context, req *api.ListResourcesRequest) (*api.ListResourcesResponse, error) {
	rs, err := s.Store.ListResources(ctx, req.ID)
	if err != nil {
		return nil, err
	}
	return &api.ListResourcesResponse{Resources: rs}, nil
}
