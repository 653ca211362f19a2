package server

import (
	"context"

	api "github.com/containerd/containerd/api/services/version/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Version serves containerd.services.version.v1.
type Version struct {
	api.UnimplementedVersionServer
	Release  string
	Revision string
}

// Register adds the service to srv.
func (s *Version) Register(srv *grpc.Server) { api.RegisterVersionServer(srv, s) }

func (s *Version) Version(context.Context, *emptypb.Empty) (*api.VersionResponse, error) {
	return &api.VersionResponse{Version: s.Release, Revision: s.Revision}, nil
}
