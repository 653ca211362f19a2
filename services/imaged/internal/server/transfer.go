package server

import (
	"context"

	transferapi "github.com/containerd/containerd/api/services/transfer/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"berth.dev/services/imaged/internal/transfer"
)

// Transfer serves containerd.services.transfer.v1: pull, push, import,
// export and tag between containerd's transfer objects.
type Transfer struct {
	transferapi.UnimplementedTransferServer
	Service *transfer.Service
}

// Register adds the service to srv.
func (s *Transfer) Register(srv *grpc.Server) { transferapi.RegisterTransferServer(srv, s) }

func (s *Transfer) Transfer(ctx context.Context, req *transferapi.TransferRequest) (*emptypb.Empty, error) {
	if err := s.Service.Transfer(ctx, req.Source, req.Destination, req.GetOptions().GetProgressStream()); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}
