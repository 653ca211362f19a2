package server

import (
	"errors"
	"fmt"
	"io"

	"context"
	api "github.com/containerd/containerd/api/services/content/v1"
	"github.com/containerd/errdefs"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"berth.dev/services/imaged/internal/content"
	"berth.dev/services/imaged/internal/gc"
)

// readChunk is the size of one Read response, under gRPC's message limit.
const readChunk = 4 << 20

// Content serves containerd.services.content.v1.
type Content struct {
	api.UnimplementedContentServer
	Store *content.Store
	GC    *gc.Collector
}

// Register adds the service to srv.
func (s *Content) Register(srv *grpc.Server) { api.RegisterContentServer(srv, s) }

func (s *Content) Info(ctx context.Context, req *api.InfoRequest) (*api.InfoResponse, error) {
	info, err := s.Store.Info(ctx, req.Digest)
	if err != nil {
		return nil, err
	}
	return &api.InfoResponse{Info: info}, nil
}

func (s *Content) Update(ctx context.Context, req *api.UpdateRequest) (*api.UpdateResponse, error) {
	if req.Info == nil {
		return nil, fmt.Errorf("update needs info: %w", errdefs.ErrInvalidArgument)
	}
	info, err := s.Store.Update(ctx, req.Info, req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, err
	}
	return &api.UpdateResponse{Info: info}, nil
}

func (s *Content) List(req *api.ListContentRequest, ss api.Content_ListServer) error {
	infos, err := s.Store.List(ss.Context(), req.Filters...)
	if err != nil {
		return err
	}
	const batch = 100
	for len(infos) > 0 {
		n := min(batch, len(infos))
		if err := ss.Send(&api.ListContentResponse{Info: infos[:n]}); err != nil {
			return err
		}
		infos = infos[n:]
	}
	return nil
}

func (s *Content) Delete(ctx context.Context, req *api.DeleteContentRequest) (*emptypb.Empty, error) {
	if err := s.Store.Delete(ctx, req.Digest); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func (s *Content) Read(req *api.ReadContentRequest, ss api.Content_ReadServer) error {
	f, info, err := s.Store.Open(ss.Context(), req.Digest)
	if err != nil {
		return err
	}
	defer f.Close()
	if req.Offset < 0 || req.Offset > info.Size {
		return fmt.Errorf("read offset %d outside %s (%d bytes): %w", req.Offset, info.Digest, info.Size, errdefs.ErrOutOfRange)
	}
	remaining := info.Size - req.Offset
	if req.Size > 0 && req.Size < remaining {
		remaining = req.Size
	}
	buf := make([]byte, min(readChunk, remaining))
	offset := req.Offset
	for remaining > 0 {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), remaining)], offset)
		if n > 0 {
			if err := ss.Send(&api.ReadContentResponse{Offset: offset, Data: buf[:n]}); err != nil {
				return err
			}
			offset += int64(n)
			remaining -= int64(n)
		}
		if err != nil && !(errors.Is(err, io.EOF) && remaining == 0) {
			return fmt.Errorf("read %s at %d: %v: %w", info.Digest, offset, err, errdefs.ErrDataLoss)
		}
	}
	return nil
}

func (s *Content) Status(ctx context.Context, req *api.StatusRequest) (*api.StatusResponse, error) {
	st, err := s.Store.Status(ctx, req.Ref)
	if err != nil {
		return nil, err
	}
	return &api.StatusResponse{Status: st}, nil
}

func (s *Content) ListStatuses(ctx context.Context, req *api.ListStatusesRequest) (*api.ListStatusesResponse, error) {
	sts, err := s.Store.ListStatuses(ctx)
	if err != nil {
		return nil, err
	}
	return &api.ListStatusesResponse{Statuses: sts}, nil
}

func (s *Content) Abort(ctx context.Context, req *api.AbortRequest) (*emptypb.Empty, error) {
	if err := s.Store.Abort(ctx, req.Ref); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}
