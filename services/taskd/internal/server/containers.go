package server

import (
	"context"
	"fmt"
	"slices"

	api "github.com/containerd/containerd/api/services/containers/v1"
	"github.com/containerd/errdefs"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/emptypb"

	"berth.dev/pkg/batch"
	"berth.dev/pkg/grpcserver"
	"berth.dev/pkg/listcache"
	"berth.dev/services/taskd/internal/container"
)

// Containers serves containerd.services.containers.v1.
type Containers struct {
	api.UnimplementedContainersServer
	Store *container.Store
}

// Register adds the service to srv. List is answered by listEncoded
// instead of the generated handler, whose answer is a message gRPC would
// encode: listEncoded's is the cached encoding itself.
func (s *Containers) Register(srv *grpc.Server) {
	desc := api.Containers_ServiceDesc
	desc.Methods = slices.Clone(desc.Methods)
	for i := range desc.Methods {
		if desc.Methods[i].MethodName == "List" {
			desc.Methods[i].Handler = s.listHandler
		}
	}
	srv.RegisterService(&desc, s)
}

func (s *Containers) Get(ctx context.Context, req *api.GetContainerRequest) (*api.GetContainerResponse, error) {
	c, err := s.Store.Get(ctx, req.ID)
	if err != nil {
		return nil, err
	}
	return &api.GetContainerResponse{Container: c}, nil
}

// List answers in-process callers; gRPC's are answered by listEncoded
// (Register).
func (s *Containers) List(ctx context.Context, req *api.ListContainersRequest) (*api.ListContainersResponse, error) {
	cs, err := s.Store.List(ctx, req.Filters...)
	if err != nil {
		return nil, err
	}
	return &api.ListContainersResponse{Containers: cs}, nil
}

// listEncoded answers List with the listing's encoding, a
// ListContainersResponse's, sent as it is.
func (s *Containers) listEncoded(ctx context.Context, req *api.ListContainersRequest) (grpcserver.Encoded, error) {
	l, err := s.listing(ctx, req.Filters, func(md metadata.MD) error { return grpc.SetHeader(ctx, md) })
	if err != nil {
		return nil, err
	}
	if l == nil {
		return grpcserver.Encoded(nil), nil
	}
	return grpcserver.Encoded(l.Response()), nil
}

// listing returns the listing a list call answers with, having set the
// call's header (setHeader) to its tag or to "unchanged" when the gateway
// asks (pkg/listcache); nil when the gateway holds it already and the
// answer is empty.
func (s *Containers) listing(ctx context.Context, fs []string, setHeader func(metadata.MD) error) (*container.Listing, error) {
	l, err := s.Store.Listing(ctx, fs...)
	if err != nil {
		return nil, err
	}
	md, unchanged := tagged(ctx, l)
	if md != nil {
		if err := setHeader(md); err != nil {
			return nil, err
		}
	}
	if unchanged {
		return nil, nil
	}
	return l, nil
}

// tagged returns the header telling the gateway, when it keeps listings
// (pkg/listcache), the tag of l, or that l is the listing it holds: then
// the answer is empty.
func tagged(ctx context.Context, l *container.Listing) (md metadata.MD, unchanged bool) {
	held, ok := listcache.Asked(ctx)
	if !ok || l.Tag() == "" {
		return nil, false
	}
	if held == l.Tag() {
		return metadata.Pairs(listcache.Unchanged, "1"), true
	}
	return metadata.Pairs(listcache.Tag, l.Tag()), false
}

// listHandler is the generated List handler, calling listEncoded.
func (s *Containers) listHandler(_ any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	req := &api.ListContainersRequest{}
	if err := dec(req); err != nil {
		return nil, err
	}
	handler := func(ctx context.Context, req any) (any, error) {
		return s.listEncoded(ctx, req.(*api.ListContainersRequest))
	}
	if interceptor == nil {
		return handler(ctx, req)
	}
	return interceptor(ctx, req, &grpc.UnaryServerInfo{Server: s, FullMethod: "/containerd.services.containers.v1.Containers/List"}, handler)
}

// ListStream sends the listing's entries, each the encoding of a
// ListContainerMessage, as they are: one a message, or, for the gateway,
// which asks for batches (pkg/batch) and splits them for its client
// without decoding, runs of them a message, a few dozen frames for
// hundreds of containers.
func (s *Containers) ListStream(req *api.ListContainersRequest, ss api.Containers_ListStreamServer) error {
	l, err := s.listing(ss.Context(), req.Filters, ss.SetHeader)
	if err != nil || l == nil {
		return err
	}
	if batch.Requested(ss.Context()) {
		for _, b := range l.Batches(batch.Size) {
			if err := ss.SendMsg(grpcserver.Encoded(b)); err != nil {
				return err
			}
		}
		return nil
	}
	for i := range l.Len() {
		if err := ss.SendMsg(grpcserver.Encoded(l.Entry(i))); err != nil {
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
