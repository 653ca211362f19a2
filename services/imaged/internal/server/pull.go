package server

import (
	"fmt"

	"github.com/containerd/errdefs"
	"google.golang.org/grpc"

	imagesv1 "berth.dev/proto/berth/images/v1"
	"berth.dev/services/imaged/internal/image"
	"berth.dev/services/imaged/internal/pull"
)

// BerthImages serves berth.images.v1.Images: pull, import, export.
type BerthImages struct {
	imagesv1.UnimplementedImagesServer
	Puller *pull.Puller
	Images *image.Store
	// Tmp is where uploads are spooled.
	Tmp string
}

// Register adds the service to srv.
func (s *BerthImages) Register(srv *grpc.Server) { imagesv1.RegisterImagesServer(srv, s) }

// Pull streams a server-side pull's progress.
func (s *BerthImages) Pull(req *imagesv1.PullRequest, ss imagesv1.Images_PullServer) error {
	if req.Ref == "" {
		return fmt.Errorf("pull needs a reference: %w", errdefs.ErrInvalidArgument)
	}
	return s.Puller.Pull(ss.Context(), req, ss.Send)
}
