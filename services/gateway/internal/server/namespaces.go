package server

import (
	"context"

	api "github.com/containerd/containerd/api/services/namespaces/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"berth.dev/services/gateway/internal/namespace"
)

// Namespaces serves containerd.services.namespaces.v1.
type Namespaces struct {
	api.UnimplementedNamespacesServer
	Store *namespace.Store
	// InUse fails when a daemon still holds resources in the namespace.
	InUse func(ctx context.Context, name string) error
	// Deleted, when set, is told of each namespace deleted, so what the
	// gateway keeps per namespace goes with it.
	Deleted func(name string)
}

// Register adds the service to srv.
func (s *Namespaces) Register(srv *grpc.Server) { api.RegisterNamespacesServer(srv, s) }

func toAPI(ns *namespace.Namespace) *api.Namespace {
	return &api.Namespace{Name: ns.Name, Labels: ns.Labels}
}

func (s *Namespaces) Get(ctx context.Context, req *api.GetNamespaceRequest) (*api.GetNamespaceResponse, error) {
	labels, err := s.Store.Labels(ctx, req.Name)
	if err != nil {
		return nil, err
	}
	return &api.GetNamespaceResponse{Namespace: &api.Namespace{Name: req.Name, Labels: labels}}, nil
}

func (s *Namespaces) List(ctx context.Context, _ *api.ListNamespacesRequest) (*api.ListNamespacesResponse, error) {
	list, err := s.Store.List(ctx)
	if err != nil {
		return nil, err
	}
	resp := &api.ListNamespacesResponse{}
	for _, ns := range list {
		resp.Namespaces = append(resp.Namespaces, toAPI(ns))
	}
	return resp, nil
}

func (s *Namespaces) Create(ctx context.Context, req *api.CreateNamespaceRequest) (*api.CreateNamespaceResponse, error) {
	ns := &namespace.Namespace{Name: req.GetNamespace().GetName(), Labels: req.GetNamespace().GetLabels()}
	if err := s.Store.Create(ctx, ns); err != nil {
		return nil, err
	}
	return &api.CreateNamespaceResponse{Namespace: toAPI(ns)}, nil
}

func (s *Namespaces) Update(ctx context.Context, req *api.UpdateNamespaceRequest) (*api.UpdateNamespaceResponse, error) {
	ns, err := s.Store.Update(ctx, req.GetNamespace().GetName(), req.GetNamespace().GetLabels(), req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, err
	}
	return &api.UpdateNamespaceResponse{Namespace: toAPI(ns)}, nil
}

func (s *Namespaces) Delete(ctx context.Context, req *api.DeleteNamespaceRequest) (*emptypb.Empty, error) {
	if err := s.Store.Delete(ctx, req.Name, s.InUse); err != nil {
		return nil, err
	}
	if s.Deleted != nil {
		s.Deleted(req.Name)
	}
	return &emptypb.Empty{}, nil
}
