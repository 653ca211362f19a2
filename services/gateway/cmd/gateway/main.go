// Package gateway is the command serving Berth's node socket: containerd's
// v1 API, routed to the daemon that owns each service, plus the namespaces,
// version, introspection and events services it owns itself.
//
// It runs in berth-daemon, the one binary of the four daemons, started as
// gateway (through a link of that name, or as `berth-daemon gateway`): the
// daemons then map one file and share its pages of code.
package gateway

import (
	"context"
	"path/filepath"
	"runtime/debug"
	"time"

	"berth.dev/pkg/bus/embedded"
	"berth.dev/pkg/config"
	"berth.dev/pkg/daemon"
	"berth.dev/pkg/imagedclient"
	"berth.dev/pkg/namespace"
	adminv1 "berth.dev/proto/berth/admin/v1"
	"berth.dev/services/gateway/internal/cri"
	"berth.dev/services/gateway/internal/cri/streaming"
	"berth.dev/services/gateway/internal/daemons"
	"berth.dev/services/gateway/internal/errand"
	"berth.dev/services/gateway/internal/eventstream"
	nsstore "berth.dev/services/gateway/internal/namespace"
	"berth.dev/services/gateway/internal/router"
	"berth.dev/services/gateway/internal/sandbox"
	"berth.dev/services/gateway/internal/server"
)

// Config is the gateway's configuration.
type Config struct {
	config.Common
	MetricsAddr  string        `env:"BERTH_GATEWAY_METRICS_ADDR" doc:"address for Prometheus /metrics (e.g. 127.0.0.1:9310); empty disables"`
	SandboxImage string        `env:"BERTH_SANDBOX_IMAGE" envDefault:"registry.k8s.io/pause:3.10" doc:"the CRI's sandbox (pause) image, pinned when pulled"`
	RestartGrace time.Duration `env:"BERTH_GATEWAY_RESTART_GRACE" envDefault:"3s" doc:"how long a call waits for a daemon that is down (being restarted) before it fails with Unavailable; 0 fails at once"`
	CRI          CRIConfig
	Stream       streaming.Config
}

// release and revision are set at build time with -ldflags
// "-X berth.dev/services/gateway/cmd/gateway.release=..." and
// ".revision=..." (make build does).
var (
	release  = "0.1.0"
	revision = ""
)

// Main runs gateway and exits the process.
func Main() {
	var cfg Config
	daemon.Main("gateway", &cfg, &cfg.Common, func(ctx context.Context, d *daemon.Daemon) error {
		return run(ctx, d, cfg)
	})
}

func run(ctx context.Context, d *daemon.Daemon, cfg Config) error {
	if cfg.NATSServers() == nil {
		nats, err := embedded.StartFor(cfg.Common, filepath.Join(d.DataDir, "nats"))
		if err != nil {
			return err
		}
		defer nats.Shutdown()
	}
	backends, err := dialBackends(cfg.Common)
	if err != nil {
		return err
	}
	defer closeAll(backends)
	uuid, err := serverUUID(d.DB)
	if err != nil {
		return err
	}
	namespaces := nsstore.New(d.DB, d.Outbox)
	set := daemons.New(backends)
	rt := router.New(func(ctx context.Context, method string) error {
		ns, ok := namespace.FromContext(ctx)
		if !ok || !router.Writes(method) {
			return nil
		}
		if err := namespace.Validate(ns); err != nil {
			return err
		}
		return namespaces.Ensure(ctx, ns)
	}, backends...)
	// Leases created by clients that went away are let go by imaged after
	// a grace period; a restart of the gateway loses every client at once.
	clients := router.NewClients(func(ids []string) {
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		set.ClientsGone(ctx, "", ids)
	})
	rt.TrackClients(clients)
	// Lease calls of clients imaged could not take are finished when it
	// is back, also after a restart of the gateway.
	if imaged, ok := rt.Backend("imaged"); ok {
		errands := errand.New(d.DB, imaged.Conn)
		rt.FinishLeases(errands)
		d.Go(func() error { return errands.Run(ctx) })
	}
	rt.SetRestartGrace(cfg.RestartGrace)
	rt.WriteContentAt(imagedclient.IngestSocket(cfg.Socket("imaged")))
	d.Go(func() error { set.ClientsGone(ctx, clients.Boot, nil); return nil })
	broadcaster := eventstream.New()
	d.Go(func() error { return broadcaster.Run(ctx, d.Bus) })
	if err := criNamespace(ctx, namespaces.Ensure); err != nil {
		return err
	}
	runtime, closeCRI, err := runtimeService(cfg.Common, d, cfg.CRI, cfg.SandboxImage)
	if err != nil {
		return err
	}
	defer closeCRI()
	d.Go(func() error { return runtime.Monitor(ctx, d.Bus) })

	srv := d.GRPCServer(rt.ServerOptions()...)
	(&server.Namespaces{Store: namespaces, InUse: set.NamespaceInUse, Deleted: rt.ForgetNamespace}).Register(srv)
	(&server.Version{Release: release, Revision: buildRevision()}).Register(srv)
	(&server.Introspection{Daemons: set, Own: ownPlugins(), UUID: uuid}).Register(srv)
	(&server.Events{Broadcaster: broadcaster, Outbox: d.Outbox}).Register(srv)
	(&server.Sandboxes{Store: sandbox.New(d.DB), PodNamespace: cri.Namespace, Pods: runtime.SandboxRecords}).Register(srv)
	imageService, err := newImageService(cfg)
	if err != nil {
		return err
	}
	runtime.Images = criImages{imageService}
	stream, err := newStreamServer(cfg, runtime.SandboxNetNS)
	if err != nil {
		return err
	}
	stream.ContainerStdin = func(id string) (streaming.Stdin, error) {
		open, once, err := runtime.ContainerStdin(id)
		return streaming.Stdin{Open: open, Once: once}, err
	}
	runtime.Streamer = stream
	d.Go(func() error { return stream.Run(ctx) })
	imageService.Register(srv)
	runtime.Register(srv)
	return d.Serve(ctx, srv, nil, cfg.MetricsAddr)
}

func dialBackends(c config.Common) ([]*router.Backend, error) {
	var out []*router.Backend
	for _, o := range router.Owners {
		b, err := router.Dial(o.Daemon, c.Socket(o.Daemon), o.Services...)
		if err != nil {
			closeAll(out)
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

func closeAll(bs []*router.Backend) {
	for _, b := range bs {
		b.Close()
	}
}

func ownPlugins() []*adminv1.Plugin {
	return []*adminv1.Plugin{
		{Type: "io.containerd.event.v1", Id: "exchange"},
		daemon.GRPCPlugin("namespaces"),
		daemon.GRPCPlugin("version"),
		daemon.GRPCPlugin("introspection"),
		daemon.GRPCPlugin("events", "io.containerd.event.v1"),
		daemon.GRPCPlugin("sandboxes"),
		daemon.GRPCPlugin("cri", "io.containerd.event.v1"),
	}
}

// buildRevision is the stamped revision, else Go's VCS stamp, else unknown.
func buildRevision() string {
	if revision != "" {
		return revision
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}
