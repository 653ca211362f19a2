// Package taskd is the command of Berth's task daemon: container records and
// tasks, one berth-shim per container, over containerd's containers and
// tasks APIs on taskd.sock.
//
// It runs in berth-daemon, the one binary of the four daemons, started as
// taskd (through a link of that name, or as `berth-daemon taskd`): the daemons
// then map one file and share its pages of code.
package taskd

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"berth.dev/pkg/config"
	"berth.dev/pkg/daemon"
	"berth.dev/pkg/log"
	"berth.dev/pkg/store"
	"berth.dev/services/taskd/internal/container"
	"berth.dev/services/taskd/internal/ociruntime"
	"berth.dev/services/taskd/internal/server"
	"berth.dev/services/taskd/internal/task"
)

// Config is taskd's configuration.
type Config struct {
	config.Common
	MetricsAddr string `env:"BERTH_TASKD_METRICS_ADDR" doc:"address for Prometheus /metrics (e.g. 127.0.0.1:9313); empty disables"`
	ShimBinary  string `env:"BERTH_SHIM_BINARY" doc:"berth-shim executable; empty means berth-shim next to taskd"`
	Runtime     string `env:"BERTH_RUNTIME_BINARY" doc:"OCI runtime of containers that name none (runc options' BinaryName); empty means crun when on PATH, else runc"`
}

// StoreOptions: taskd's commits are not synced one by one. Its task
// records, exit markers and task events describe processes a reboot ends;
// a crash of taskd alone loses none of them (they are in the page cache),
// and container records are synced as they are written (container.Store).
// A background sync bounds what a machine crash can take of the rest (the
// outbox's sequence lease, events not yet published).
func (Config) StoreOptions() []store.Option { return []store.Option{store.WithoutSyncWrites()} }

// storeSyncInterval is how often taskd syncs its store in the background.
const storeSyncInterval = time.Second

// Main runs taskd and exits the process.
func Main() {
	var cfg Config
	daemon.Main("taskd", &cfg, &cfg.Common, func(ctx context.Context, d *daemon.Daemon) error {
		return run(ctx, d, cfg)
	})
}

func run(ctx context.Context, d *daemon.Daemon, cfg Config) error {
	shimBin := cfg.ShimBinary
	if shimBin == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		shimBin = filepath.Join(filepath.Dir(exe), "berth-shim")
	}
	// The syncs stop before the store closes.
	syncCtx, stopSync := context.WithCancel(ctx)
	synced := make(chan struct{})
	go func() { syncStore(syncCtx, d); close(synced) }()
	defer func() { stopSync(); <-synced }()
	containers := container.New(d.DB, d.Outbox)
	tasks := task.New(ctx, task.Config{
		StateDir:       filepath.Join(cfg.State, "shims"),
		SocketDir:      filepath.Join(cfg.State, "s"),
		RuncRoot:       filepath.Join(cfg.State, "runc"),
		ShimBinary:     shimBin,
		DefaultRuntime: ociruntime.Default(cfg.Runtime),
	}, d.DB, d.Outbox, containers)
	if err := tasks.Recover(); err != nil {
		return err
	}
	srv := d.GRPCServer()
	(&server.Containers{Store: containers}).Register(srv)
	(&server.Tasks{Manager: tasks}).Register(srv)
	(&server.BerthTasks{Manager: tasks}).Register(srv)
	return d.Serve(ctx, srv, server.Admin{Containers: containers, Tasks: tasks}, cfg.MetricsAddr)
}

func syncStore(ctx context.Context, d *daemon.Daemon) {
	t := time.NewTicker(storeSyncInterval)
	defer t.Stop()
	var synced uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// An idle store (no commit since the last sync) is left alone.
			v := d.DB.MaxVersion()
			if v == synced {
				continue
			}
			synced = v
			if err := d.DB.Sync(); err != nil {
				log.G(ctx).Warn("syncing the store", zap.Error(err))
			}
		}
	}
}
