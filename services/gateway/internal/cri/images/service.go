package images

import (
	"context"
	"sync"

	"google.golang.org/grpc"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"berth.dev/pkg/imagedclient"
	"berth.dev/pkg/namespace"
	"berth.dev/pkg/snapshotdclient"
)

// Namespace is the containerd namespace the CRI keeps its images in.
const Namespace = "k8s.io"

// Labels containerd's CRI sets on image records.
const (
	// ManagedLabel marks records the CRI created.
	ManagedLabel = "io.cri-containerd.image"
	// PinnedLabel, set to "pinned", keeps the kubelet from collecting the
	// image (the sandbox image).
	PinnedLabel = "io.cri-containerd.pinned"
)

// Config is what the service needs beyond its clients.
type Config struct {
	// Snapshotter the layers are unpacked into; empty means overlayfs.
	Snapshotter string
	// SnapshotsDir is where that snapshotter keeps its layers, reported as
	// the image filesystem's mountpoint.
	SnapshotsDir string
	// ContentDir is where imaged keeps blobs, reported as a second image
	// filesystem.
	ContentDir string
	// Pinned lists references whose images are labelled pinned when pulled
	// (the sandbox image).
	Pinned []string
}

// Service implements runtimeapi.ImageServiceServer.
type Service struct {
	runtimeapi.UnimplementedImageServiceServer
	imaged    *imagedclient.Client
	snapshots *snapshotdclient.Client
	cfg       Config

	// targets caches what an image record's target resolves to: content is
	// immutable, so an entry never goes stale.
	targets sync.Map // target digest -> *target
	// usage caches the usage of committed snapshots, equally immutable.
	usage sync.Map // snapshot name -> [2]int64{size, inodes}
}

var _ runtimeapi.ImageServiceServer = (*Service)(nil)

// New returns the service; snapshots may be nil, then ImageFsInfo reports
// only the content store.
func New(imaged *imagedclient.Client, snapshots *snapshotdclient.Client, cfg Config) *Service {
	if cfg.Snapshotter == "" {
		cfg.Snapshotter = "overlayfs"
	}
	return &Service{imaged: imaged, snapshots: snapshots, cfg: cfg}
}

// Register adds the service to srv.
func (s *Service) Register(srv *grpc.Server) { runtimeapi.RegisterImageServiceServer(srv, s) }

// nsContext puts the CRI's namespace on calls to the daemons.
func nsContext(ctx context.Context) context.Context {
	return namespace.WithNamespace(ctx, Namespace)
}
