package server

import (
	"context"
	"fmt"

	api "github.com/containerd/containerd/api/services/images/v1"
	"github.com/containerd/errdefs"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"berth.dev/services/imaged/internal/gc"
	"berth.dev/services/imaged/internal/image"
)

// Images serves containerd.services.images.v1.
type Images struct {
	api.UnimplementedImagesServer
	Store *image.Store
	GC    *gc.Collector
}

// Register adds the service to srv.
func (s *Images) Register(srv *grpc.Server) { api.RegisterImagesServer(srv, s) }

func (s *Images) Get(ctx context.Context, req *api.GetImageRequest) (*api.GetImageResponse, error) {
	img, err := s.Store.Get(ctx, req.Name)
	if err != nil {
		return nil, err
	}
	return &api.GetImageResponse{Image: img}, nil
}

func (s *Images) List(ctx context.Context, req *api.ListImagesRequest) (*api.ListImagesResponse, error) {
	imgs, err := s.Store.List(ctx, req.Filters...)
	if err != nil {
		return nil, err
	}
	return &api.ListImagesResponse{Images: imgs}, nil
}

func (s *Images) Create(ctx context.Context, req *api.CreateImageRequest) (*api.CreateImageResponse, error) {
	if req.Image == nil {
		return nil, fmt.Errorf("create needs an image: %w", errdefs.ErrInvalidArgument)
	}
	img, err := s.Store.Create(ctx, req.Image)
	if err != nil {
		return nil, err
	}
	return &api.CreateImageResponse{Image: img}, nil
}

func (s *Images) Update(ctx context.Context, req *api.UpdateImageRequest) (*api.UpdateImageResponse, error) {
	if req.Image == nil {
		return nil, fmt.Errorf("update needs an image: %w", errdefs.ErrInvalidArgument)
	}
	img, err := s.Store.Update(ctx, req.Image, req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, err
	}
	return &api.UpdateImageResponse{Image: img}, nil
}

// Delete removes the record; with sync it also collects what the image
// alone held before returning, as `ctr images rm --sync` expects.
func (s *Images) Delete(ctx context.Context, req *api.DeleteImageRequest) (*emptypb.Empty, error) {
	if err := s.Store.Delete(ctx, req.Name); err != nil {
		return nil, err
	}
	if err := collect(ctx, s.GC, req.Sync); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func collect(ctx context.Context, c *gc.Collector, sync bool) error {
	if sync {
		return c.Collect(ctx)
	}
	c.Deleted()
	return nil
}
