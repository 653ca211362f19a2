package main

import (
	"path/filepath"

	"berth.dev/pkg/imagedclient"
	"berth.dev/pkg/snapshotdclient"
	"berth.dev/services/gateway/internal/cri/images"
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
