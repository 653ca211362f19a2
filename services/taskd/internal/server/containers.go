package server

import (
	"context"
	"fmt"

	api "github.com/containerd/containerd/api/services/containers/v1"
	"github.com/containerd/errdefs"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"berth.dev/pkg/batch"
	"berth.dev/services/taskd/internal/container"
)

// Containers serves containerd.services.containers.v1.
type Containers struct {
	api.UnimplementedContainersServer
	Store *container.Store
}

// Register adds the service to srv.
func (s *Containers) Register(srv *grpc.Server) { api.RegisterContainersServer(srv, s) }

func (s *Containers) Get(ctx context.Context, req *api.GetContainerRequest) (*api.GetContainerResponse, error) {
	c, err := s.Store.Get(ctx, req.ID)
	if err != nil {
		return nil, err
	}
	return &api.GetContainerResponse{Container: c}, nil
}

func (s *Containers) List(ctx context.Context, req *api.ListContainersRequest) (*api.ListContainersResponse, error) {
	cs, err := s.Store.List(ctx, req.Filters...)
	if err != nil {
		return nil, err
	}
	return &api.ListContainersResponse{Containers: cs}, nil
}

func (s *Containers) ListStream(req *api.ListContainersRequest, ss api.Containers_ListStreamServer) error {
	if batch.Requested(ss.Context()) {
		return s.listBatched(req, ss)
	}
	cs, err := s.Store.List(ss.Context(), req.Filters...)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if err := ss.Send(&api.ListContainerMessage{Container: c}); err != nil {
			return err
		}
	}
	return nil
}

func (s *Containers) Create(ctx context.Context, req *api.CreateContainerRequest) (*api.CreateContainerResponse, error) {
	if req.Container == nil {
		return nil, fmt.Errorf("create needs a container: %w", errdefs.ErrInvalidArgument)
	}
	c, err := s.Store.Create(ctx, req.Container)
	if err != nil {
		return nil, err
	}
	return &api.CreateContainerResponse{Container: c}, nil
}

func (s *Containers) Update(ctx context.Context, req *api.UpdateContainerRequest) (*api.UpdateContainerResponse, error) {
	if req.Container == nil {
		return nil, fmt.Errorf("update needs a container: %w", errdefs.ErrInvalidArgument)
	}
	c, err := s.Store.Update(ctx, req.Container, req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, err
	}
	return &api.UpdateContainerResponse{Container: c}, nil
}

func (s *Containers) Delete(ctx context.Context, req *api.DeleteContainerRequest) (*emptypb.Empty, error) {
	if err := s.Store.Delete(ctx, req.ID); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// listBatched answers the gateway, which unpacks the batches for its
// client: the records go out as stored, a few dozen frames for hundreds of
// containers, and none is decoded and encoded again. The first batch leaves
// while the store is still read; the reading goes on to the end without
// waiting for the sending, so a slow reader does not hold the store's
// transaction open.
func (s *Containers) listBatched(req *api.ListContainersRequest, ss grpc.ServerStream) error {
	q := batch.NewQueue()
	read := make(chan struct{})
	go func() {
		defer close(read)
		q.Close(s.Store.ListEncoded(ss.Context(), q.Add, req.Filters...))
	}()
	defer func() { <-read }()
	for {
		b, err := q.Next()
		if b == nil {
			return err
		}
		if err := ss.SendMsg(batch.Message(b)); err != nil {
			return err
		}
	}
}
