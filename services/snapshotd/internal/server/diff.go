package server

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"

	api "github.com/containerd/containerd/api/services/diff/v1"
	"github.com/containerd/containerd/api/types"
	"github.com/containerd/errdefs"
	"github.com/klauspost/compress/gzip"
	"github.com/opencontainers/go-digest"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"berth.dev/pkg/imagedclient"
	"berth.dev/pkg/log"
	"berth.dev/pkg/mount"
	"berth.dev/pkg/namespace"
	"berth.dev/pkg/snapshotdclient"
	"berth.dev/services/snapshotd/internal/apply"
	"berth.dev/services/snapshotd/internal/diff"
	"berth.dev/services/snapshotd/internal/snapshot"
)

// Layer media types: Apply reports the uncompressed one; Diff writes gzip
// unless asked otherwise.
const (
	uncompressedLayer = "application/vnd.oci.image.layer.v1.tar"
	gzipLayer         = "application/vnd.oci.image.layer.v1.tar+gzip"
)

// Diff serves containerd.services.diff.v1.
type Diff struct {
	api.UnimplementedDiffServer
	Content *imagedclient.Client
	// Snapshots keeps a snapshot an apply writes into from being removed
	// meanwhile.
	Snapshots *snapshot.Manager
	TmpRoot   string
	Options   apply.Options
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
	blob, err := s.open(namespace.WithNamespace(ctx, ns), req.Diff.Digest)
	if err != nil {
		return nil, err
	}
	defer blob.Close()
	done, err := s.Snapshots.Writing(req.Mounts)
	if err != nil {
		return nil, err
	}
	defer done()
	target, release, err := apply.Target(req.Mounts, s.TmpRoot)
	if err != nil {
		return nil, err
	}
	opts := s.Options
	// A layer unpacked on its own, to be committed onto its parents later,
	// records deletions as overlay whiteouts instead of performing them.
	_, opts.Overlay = req.Payloads[snapshotdclient.OverlayWhiteouts]
	opts.WriteBack = req.SyncFs
	res, err := apply.Apply(target, blob, opts)
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

// open returns the blob as a file imaged hands over (read in place, no
// gRPC frames), or streamed over gRPC from an imaged without a blob socket.
func (s *Diff) open(ctx context.Context, dgst string) (io.ReadCloser, error) {
	f, _, err := s.Content.OpenFile(ctx, dgst)
	if err == nil {
		return f, nil
	}
	if !errdefs.IsUnavailable(err) {
		return nil, err
	}
	return s.Content.Open(ctx, dgst)
}

// Diff writes the difference between two mount sets as a layer into
// imaged's content store.
func (s *Diff) Diff(ctx context.Context, req *api.DiffRequest) (*api.DiffResponse, error) {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return nil, err
	}
	mediaType := req.MediaType
	if mediaType == "" {
		mediaType = gzipLayer
	}
	if mediaType != gzipLayer && mediaType != uncompressedLayer {
		return nil, fmt.Errorf("layer media type %q: %w", mediaType, errdefs.ErrNotImplemented)
	}
	lower, releaseLower, err := s.readOnly(req.Left)
	if err != nil {
		return nil, err
	}
	defer releaseLower()
	upper, releaseUpper, err := s.readOnly(req.Right)
	if err != nil {
		return nil, err
	}
	defer releaseUpper()
	layer, err := os.CreateTemp(s.TmpRoot, "diff-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(layer.Name())
	defer layer.Close()
	compressed, diffID := sha256.New(), sha256.New()
	var out io.Writer = io.MultiWriter(layer, compressed)
	var zw *gzip.Writer
	if mediaType == gzipLayer {
		zw = gzip.NewWriter(out)
		out = zw
	}
	if err := diff.Write(io.MultiWriter(out, diffID), lower, upper); err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return nil, err
		}
	}
	if mediaType == uncompressedLayer {
		compressed = diffID
	}
	size, err := layer.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, err
	}
	dgst := digest.NewDigest(digest.SHA256, compressed).String()
	labels := map[string]string{"containerd.io/uncompressed": digest.NewDigest(digest.SHA256, diffID).String()}
	for k, v := range req.Labels {
		labels[k] = v
	}
	if _, err := layer.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	ref := req.Ref
	if ref == "" {
		ref = "diff-" + dgst
	}
	if err := s.Content.Write(namespace.WithNamespace(ctx, ns), ref, layer, size, dgst, labels); err != nil {
		return nil, fmt.Errorf("store layer: %w", err)
	}
	return &api.DiffResponse{Diff: &types.Descriptor{MediaType: mediaType, Digest: dgst, Size: size}}, nil
}

// readOnly mounts ms read-only on a temporary directory (an empty set is an
// empty tree).
func (s *Diff) readOnly(ms []*types.Mount) (string, func(), error) {
	if err := os.MkdirAll(s.TmpRoot, 0o700); err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp(s.TmpRoot, "diff-")
	if err != nil {
		return "", nil, err
	}
	var ro []*types.Mount
	for _, m := range ms {
		c := &types.Mount{Type: m.Type, Source: m.Source, Target: m.Target, Options: append([]string{"ro"}, without(m.Options, "rw")...)}
		ro = append(ro, c)
	}
	if err := mount.All(ro, dir); err != nil {
		os.Remove(dir)
		return "", nil, err
	}
	return dir, func() { mount.UnmountAll(dir); os.Remove(dir) }, nil
}

func without(opts []string, drop string) []string {
	var out []string
	for _, o := range opts {
		if o != drop {
			out = append(out, o)
		}
	}
	return out
}
