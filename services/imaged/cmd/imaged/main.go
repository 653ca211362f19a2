// Package imaged is the command of Berth's image daemon: content store,
// images, leases and garbage collection, served over containerd's API on
// imaged.sock.
//
// It runs in berth-daemon, the one binary of the four daemons, started as
// imaged (through a link of that name, or as `berth-daemon imaged`): the daemons
// then map one file and share its pages of code.
package imaged

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/opencontainers/go-digest"

	leasesapi "github.com/containerd/containerd/api/services/leases/v1"

	"berth.dev/pkg/config"
	"berth.dev/pkg/daemon"
	"berth.dev/pkg/grpcserver"
	"berth.dev/pkg/imagedclient"
	"berth.dev/pkg/snapshotdclient"
	"berth.dev/pkg/taskdclient"
	"berth.dev/services/imaged/internal/content"
	"berth.dev/services/imaged/internal/gc"
	"berth.dev/services/imaged/internal/image"
	"berth.dev/services/imaged/internal/lease"
	"berth.dev/services/imaged/internal/pull"
	"berth.dev/services/imaged/internal/server"
	"berth.dev/services/imaged/internal/stream"
	"berth.dev/services/imaged/internal/transfer"
)

// Config is imaged's configuration.
type Config struct {
	config.Common
	MetricsAddr    string        `env:"BERTH_IMAGED_METRICS_ADDR" doc:"address for Prometheus /metrics (e.g. 127.0.0.1:9311); empty disables"`
	RegistryConfig string        `env:"BERTH_REGISTRY_CONFIG_PATH" envDefault:"/etc/berth/certs.d" doc:"containerd-style certs.d directory: <host>/hosts.toml with mirrors and TLS settings, read at each pull"`
	RegistryAuth   string        `env:"BERTH_REGISTRY_AUTH_FILE" envDefault:"/etc/berth/auth.json" doc:"docker config.json-style file with registry credentials"`
	MaxDownloads   int           `env:"BERTH_IMAGED_MAX_CONCURRENT_DOWNLOADS" envDefault:"5" doc:"layers a server-side pull downloads at once"`
	OrphanGrace    time.Duration `env:"BERTH_IMAGED_ORPHAN_LEASE_GRACE" envDefault:"5m" doc:"how long a lease lives on, with nothing written under it, after the client that created it went away"`
	PullProgress   time.Duration `env:"BERTH_IMAGED_PULL_PROGRESS_TIMEOUT" envDefault:"5m" doc:"how long a registry may send nothing during a server-side pull before the fetch fails (a retry resumes it); 0 waits forever"`
	IngestTimeout  time.Duration `env:"BERTH_IMAGED_INGEST_TIMEOUT" envDefault:"30m" doc:"how long a content write (ingest) lives with nothing written to it: then its ref is released and its partial data removed"`
}

// Main runs imaged and exits the process.
func Main() {
	var cfg Config
	daemon.Main("imaged", &cfg, &cfg.Common, func(ctx context.Context, d *daemon.Daemon) error {
		return run(ctx, d, cfg)
	})
}

func run(ctx context.Context, d *daemon.Daemon, cfg Config) error {
	blobs, err := content.New(filepath.Join(d.DataDir, "content"), d.DB, d.Outbox)
	if err != nil {
		return err
	}
	// Before anything writes: a previous run killed mid-commit may have
	// left blob files nothing records.
	if _, err := blobs.RemoveUnrecorded(); err != nil {
		return err
	}
	blobs.IngestTimeout = cfg.IngestTimeout
	d.Go(func() error { return blobs.RunExpiry(ctx) })
	// What is written under a lease is held by it from the commit on.
	blobs.OnCommit = func(ctx context.Context, txn *badger.Txn, ns string, dgst digest.Digest) error {
		return lease.HoldFromContext(ctx, txn, ns, &leasesapi.Resource{ID: dgst.String(), Type: "content"})
	}
	images := image.New(d.DB, d.Outbox)
	leases := lease.New(d.DB)
	leases.Grace = cfg.OrphanGrace
	snapshotd, err := snapshotdclient.Dial(cfg.Socket("snapshotd"))
	if err != nil {
		return err
	}
	defer snapshotd.Close()
	taskd, err := taskdclient.Dial(cfg.Socket("taskd"))
	if err != nil {
		return err
	}
	defer taskd.Close()

	puller := &pull.Puller{Content: blobs, Images: images, Leases: leases, Snapshots: snapshotd,
		ConfigDir: cfg.RegistryConfig, AuthFile: cfg.RegistryAuth, MaxConcurrent: cfg.MaxDownloads, ProgressTimeout: progressTimeout(cfg.PullProgress)}
	if err := puller.EndInterrupted(ctx); err != nil {
		return err
	}
	// The first collection removes what those leases held.
	collector := &gc.Collector{DB: d.DB, Content: blobs, Snapshots: &gc.RemoteSnapshots{Snapshots: snapshotd, Tasks: taskd}, Leases: leases}
	d.Go(func() error { return collector.Run(ctx) })

	srv := d.GRPCServer()
	(&server.Content{Store: blobs, GC: collector}).Register(srv)
	(&server.Images{Store: images, GC: collector}).Register(srv)
	(&server.Leases{Store: leases, GC: collector}).Register(srv)
	tmp := filepath.Join(d.DataDir, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return err
	}
	(&server.BerthImages{Puller: puller, Images: images, Tmp: tmp}).Register(srv)
	streams := stream.NewManager()
	(&server.Streaming{Streams: streams}).Register(srv)
	(&server.Transfer{Service: &transfer.Service{Puller: puller, Images: images, Content: blobs, Streams: streams, Tmp: tmp}}).Register(srv)
	blobSocket, err := grpcserver.Listen(imagedclient.BlobSocket(cfg.Socket("imaged")))
	if err != nil {
		return err
	}
	d.Go(func() error { return (&server.BlobFiles{Store: blobs}).Serve(ctx, blobSocket) })
	ingestSocket, err := grpcserver.Listen(imagedclient.IngestSocket(cfg.Socket("imaged")))
	if err != nil {
		return err
	}
	d.Go(func() error { return (&server.IngestFiles{Store: blobs}).Serve(ctx, ingestSocket) })
	return d.Serve(ctx, srv, server.Admin{DB: d.DB, Leases: leases, GC: collector}, cfg.MetricsAddr)
}

// progressTimeout turns the configured 0 ("wait forever") into the
// puller's "never".
func progressTimeout(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
