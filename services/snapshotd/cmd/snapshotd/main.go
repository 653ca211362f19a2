// Package snapshotd is the command of Berth's snapshot daemon: overlayfs and
// native snapshotters and the layer apply path, over containerd's snapshots
// and diff APIs on snapshotd.sock.
//
// It runs in berth-daemon, the one binary of the four daemons, started as
// snapshotd (through a link of that name, or as `berth-daemon snapshotd`): the daemons
// then map one file and share its pages of code.
package snapshotd

import (
	"context"
	"os"
	"path/filepath"

	"berth.dev/pkg/config"
	"berth.dev/pkg/daemon"
	"berth.dev/pkg/grpcserver"
	"berth.dev/pkg/imagedclient"
	"berth.dev/pkg/lease"
	"berth.dev/pkg/mount"
	"berth.dev/pkg/namespace"
	"berth.dev/pkg/snapshotdclient"
	"berth.dev/services/snapshotd/internal/apply"
	"berth.dev/services/snapshotd/internal/server"
	"berth.dev/services/snapshotd/internal/snapshot"
)

// Config is snapshotd's configuration.
type Config struct {
	config.Common
	MetricsAddr   string `env:"BERTH_SNAPSHOTD_METRICS_ADDR" doc:"address for Prometheus /metrics (e.g. 127.0.0.1:9312); empty disables"`
	MaxLayerBytes int64  `env:"BERTH_SNAPSHOTD_MAX_LAYER_BYTES" envDefault:"34359738368" doc:"largest uncompressed layer accepted (bytes); a larger one is refused and its writes undone by the client's snapshot removal"`
	AllowDevices  bool   `env:"BERTH_SNAPSHOTD_ALLOW_DEVICES" envDefault:"false" doc:"let layers create character and block device nodes"`
}

// Main runs snapshotd and exits the process.
func Main() {
	var cfg Config
	daemon.Main("snapshotd", &cfg, &cfg.Common, func(ctx context.Context, d *daemon.Daemon) error {
		return run(ctx, d, cfg)
	})
}

func run(ctx context.Context, d *daemon.Daemon, cfg Config) error {
	manager, err := snapshot.New(d.DB, d.Outbox, filepath.Join(d.DataDir, "snapshots"))
	if err != nil {
		return err
	}
	// A crash mid-apply leaves its temporary mount; a crash mid-prepare
	// leaves directories metadata does not know.
	mounts := filepath.Join(d.DataDir, "mounts")
	if err := mount.UnmountUnder(mounts); err != nil {
		return err
	}
	os.RemoveAll(mounts)
	if err := manager.CleanupAll(); err != nil {
		return err
	}
	imaged, err := imagedclient.Dial(cfg.Socket("imaged"))
	if err != nil {
		return err
	}
	defer imaged.Close()
	manager.Hold = func(ctx context.Context, snapshotter, key string) error {
		id, ok := lease.FromContext(ctx)
		if !ok {
			return nil
		}
		ns, err := namespace.Required(ctx)
		if err != nil {
			return err
		}
		return imaged.Hold(lease.ForwardClient(ctx, namespace.WithNamespace(ctx, ns)), id, "snapshots/"+snapshotter, key)
	}
	problems := map[string]string{}
	if err := snapshot.OverlaySupported(); err != nil {
		problems["overlayfs"] = err.Error()
	}
	srv := d.GRPCServer()
	applyOpts := apply.Options{MaxBytes: cfg.MaxLayerBytes, AllowDevices: cfg.AllowDevices}
	(&server.Snapshots{Manager: manager}).Register(srv)
	(&server.Diff{Content: imaged, Snapshots: manager, TmpRoot: mounts, Options: applyOpts}).Register(srv)
	streamSocket, err := grpcserver.Listen(snapshotdclient.StreamSocket(cfg.Socket("snapshotd")))
	if err != nil {
		return err
	}
	d.Go(func() error {
		return (&server.StreamApply{Snapshots: manager, TmpRoot: mounts, Options: applyOpts}).Serve(ctx, streamSocket)
	})
	return d.Serve(ctx, srv, server.Admin{DB: d.DB, Manager: manager, Problems: problems}, cfg.MetricsAddr)
}
