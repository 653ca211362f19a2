package main

import (
	"path/filepath"

	"berth.dev/pkg/imagedclient"
	"berth.dev/pkg/snapshotdclient"
	"berth.dev/pkg/taskdclient"
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
func newStreamServer(cfg Config) (*streaming.Server, error) {
	tasks, err := taskdclient.Dial(cfg.Socket("taskd"))
	if err != nil {
		return nil, err
	}
	sc := cfg.Stream
	sc.StateDir = filepath.Join(cfg.State, "cri-exec")
	s, err := streaming.New(sc, tasks, streaming.TaskNetNS(tasks))
	if err != nil {
		tasks.Close()
		return nil, err
	}
	return s, nil
}
