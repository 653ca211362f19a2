package server

import (
	"context"
	"fmt"

	api "github.com/containerd/containerd/api/services/diff/v1"
	"github.com/containerd/containerd/api/types"
	"github.com/containerd/errdefs"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"berth.dev/pkg/imagedclient"
	"berth.dev/pkg/log"
	"berth.dev/pkg/namespace"
	"berth.dev/services/snapshotd/internal/apply"
)

// uncompressedLayer is the media type of what Apply reports it applied.
const uncompressedLayer = "application/vnd.oci.image.layer.v1.tar"

// Diff serves containerd.services.diff.v1.
type Diff struct {
	api.UnimplementedDiffServer
	Content *imagedclient.Client
	TmpRoot string
	Options apply.Options
}

// Register adds the service to srv.
func (s *Diff) Register(srv *grpc.Server) { api.RegisterDiffServer(srv, s) }

// Apply streams the layer from imaged and unpacks it into the mounts.
func (s *Diff) Apply(ctx context.Context, req *api.ApplyRequest) (*api.ApplyResponse, error) {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return nil, err
	}
	if req.Diff == nil || req.Diff.Digest == "" {
		return nil, fmt.Errorf("apply needs a layer descriptor: %w", errdefs.ErrInvalidArgument)
	}
	blob, err := s.Content.Open(namespace.WithNamespace(ctx, ns), req.Diff.Digest)
	if err != nil {
		return nil, err
	}
	defer blob.Close()
	target, release, err := apply.Target(req.Mounts, s.TmpRoot)
	if err != nil {
		return nil, err
	}
	res, err := apply.Apply(target, blob, s.Options)
	if err == nil && req.SyncFs {
		// One syncfs for the whole layer (and whatever else is pending on
		// the filesystem), never an fsync per file. Clients ask for it;
		// Berth's own pull asks on its last layer, before the image exists.
		err = apply.Sync(target)
	}
	if rerr := release(); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return nil, fmt.Errorf("apply layer %s: %w", req.Diff.Digest, err)
	}
	log.G(ctx).Debug("applied layer", zap.String("digest", req.Diff.Digest), zap.String("diff_id", res.DiffID.String()), zap.Int64("size", res.Size))
	return &api.ApplyResponse{Applied: &types.Descriptor{MediaType: uncompressedLayer, Digest: res.DiffID.String(), Size: res.Size}}, nil
}

// Diff writes the difference between two mount sets as a layer; Berth does
// not offer it yet.
func (s *Diff) Diff(context.Context, *api.DiffRequest) (*api.DiffResponse, error) {
	return nil, fmt.Errorf("computing a layer from mounts is not supported by snapshotd yet: %w", errdefs.ErrNotImplemented)
}
