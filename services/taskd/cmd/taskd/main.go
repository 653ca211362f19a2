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

	"berth.dev/pkg/config"
	"berth.dev/pkg/daemon"
	"berth.dev/services/taskd/internal/container"
	"berth.dev/services/taskd/internal/server"
	"berth.dev/services/taskd/internal/task"
)

// Config is taskd's configuration.
type Config struct {
	config.Common
	MetricsAddr string `env:"BERTH_TASKD_METRICS_ADDR" doc:"address for Prometheus /metrics (e.g. 127.0.0.1:9313); empty disables"`
	ShimBinary  string `env:"BERTH_SHIM_BINARY" doc:"berth-shim executable; empty means berth-shim next to taskd"`
}

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
	containers := container.New(d.DB, d.Outbox)
	tasks := task.New(ctx, task.Config{
		StateDir:   filepath.Join(cfg.State, "shims"),
		SocketDir:  filepath.Join(cfg.State, "s"),
		RuncRoot:   filepath.Join(cfg.State, "runc"),
		ShimBinary: shimBin,
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
