package gateway

import (
	"context"
	"path/filepath"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"berth.dev/pkg/imagedclient"
	"berth.dev/pkg/snapshotdclient"
	"berth.dev/pkg/taskdclient"
	"berth.dev/services/gateway/internal/cri"
	"berth.dev/services/gateway/internal/cri/images"
	"berth.dev/services/gateway/internal/cri/streaming"
)

// newImageService builds the CRI image service over imaged and snapshotd.
// The connections dial lazily and live as long as the process.
func newImageService(cfg Config) (*images.Service, error) {
	imaged, err := imagedclient.Dial(cfg.Socket("imaged"))
	if err != nil {
		return nil, err
	}
	snapshots, err := snapshotdclient.Dial(cfg.Socket("snapshotd"))
	if err != nil {
		imaged.Close()
		return nil, err
	}
	return images.New(imaged, snapshots, images.Config{
		Snapshotter:  "overlayfs",
		SnapshotsDir: filepath.Join(cfg.Root, "snapshotd", "snapshots", "overlayfs"),
		ContentDir:   filepath.Join(cfg.Root, "imaged", "content"),
		Pinned:       []string{cfg.SandboxImage},
	}), nil
}

// newStreamServer builds the CRI's exec, attach and port-forward server
// over taskd, with exec fifos under the state directory.
func newStreamServer(cfg Config, netns streaming.NetNS) (*streaming.Server, error) {
	tasks, err := taskdclient.Dial(cfg.Socket("taskd"))
	if err != nil {
		return nil, err
	}
	sc := cfg.Stream
	sc.StateDir = filepath.Join(cfg.State, "cri-exec")
	s, err := streaming.New(sc, tasks, netns)
	if err != nil {
		tasks.Close()
		return nil, err
	}
	return s, nil
}

// criImages hands the runtime service the image service's images in the
// runtime's own terms.
type criImages struct{ s *images.Service }

func (c criImages) Resolve(ctx context.Context, ref string) (*cri.Image, error) {
	return runtimeImage(c.s.Resolve(ctx, ref))
}

func (c criImages) Ensure(ctx context.Context, ref string, auth *runtimeapi.AuthConfig) (*cri.Image, error) {
	return runtimeImage(c.s.Ensure(ctx, ref, auth))
}

func runtimeImage(img *images.Image, err error) (*cri.Image, error) {
	if err != nil {
		return nil, err
	}
	return &cri.Image{ID: img.ID, Name: img.Name, RepoTags: img.RepoTags, RepoDigests: img.RepoDigests,
		ChainID: img.ChainID, Config: img.Config, Size: img.Size}, nil
}
