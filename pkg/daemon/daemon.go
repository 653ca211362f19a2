package daemon

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"berth.dev/pkg/bus"
	"berth.dev/pkg/config"
	"berth.dev/pkg/events"
	"berth.dev/pkg/grpcserver"
	"berth.dev/pkg/log"
	"berth.dev/pkg/store"
)

// Daemon is what a daemon's run function wires its services with.
type Daemon struct {
	Name string
	// Node is this node's id (BERTH_NODE_ID): its events' subjects are
	// events.SubjectFilter(Node, ...), its stream events.NodeStream(Node).
	Node    string
	Common  config.Common
	Log     *zap.Logger
	DataDir string
	DB      *badger.DB
	Outbox  *events.Outbox
	Bus     *bus.Bus

	group *errgroup.Group
}

// Main runs a daemon and exits the process: it loads cfg (whose Common part
// is common), then calls run with a context that SIGTERM/SIGINT cancel.
func Main(name string, cfg any, common *config.Common, run func(ctx context.Context, d *Daemon) error) {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	printed, err := config.Load(cfg, common, fs, os.Args[1:], os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(2)
	}
	if printed {
		return
	}
	var opts []store.Option
	if so, ok := cfg.(StoreOptioner); ok {
		opts = so.StoreOptions()
	}
	if err := runDaemon(name, *common, opts, run); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// StoreOptioner is a daemon configuration that changes how the daemon's
// store opens.
type StoreOptioner interface{ StoreOptions() []store.Option }

func runDaemon(name string, common config.Common, opts []store.Option, run func(ctx context.Context, d *Daemon) error) error {
	logger, err := log.New(name, common.LogLevel)
	if err != nil {
		return err
	}
	defer logger.Sync()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx = log.WithLogger(ctx, logger)

	d, err := open(name, common, logger, opts...)
	if err != nil {
		return err
	}
	defer d.close()
	g, gctx := errgroup.WithContext(ctx)
	d.group = g
	g.Go(func() error { return d.Outbox.Run(gctx, d.Bus) })
	g.Go(func() error { return releaseIdleMemory(gctx) })
	g.Go(func() error { return run(gctx, d) })
	err = g.Wait()
	logger.Info("stopped", zap.Error(err))
	return err
}

func open(name string, common config.Common, logger *zap.Logger, opts ...store.Option) (*Daemon, error) {
	if err := common.MakeDirs(); err != nil {
		return nil, err
	}
	dataDir, err := common.DataDir(name)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(filepath.Join(dataDir, "db"), logger, opts...)
	if err != nil {
		return nil, err
	}
	node, err := common.Node()
	if err != nil {
		db.Close()
		return nil, err
	}
	outbox, err := events.NewOutbox(db, name, events.WithNode(node))
	if err != nil {
		db.Close()
		return nil, err
	}
	b, err := bus.Connect(BusOptions(name, node, common, logger))
	if err != nil {
		outbox.Close()
		db.Close()
		return nil, err
	}
	return &Daemon{Name: name, Node: node, Common: common, Log: logger, DataDir: dataDir, DB: db, Outbox: outbox, Bus: b}, nil
}

func (d *Daemon) close() {
	d.Bus.Close()
	d.Outbox.Close()
	d.DB.Close()
}

// BusOptions is how daemon name of node connects to NATS: to the external
// servers with the operator's credentials and TLS, or to the gateway's
// embedded server as its own user. Only the gateway manages the stream.
func BusOptions(name, node string, c config.Common, logger *zap.Logger) bus.Options {
	return bus.Options{
		Name:         "berth-" + name,
		Servers:      c.NATSServers(),
		Credentials:  c.NATSCred,
		TLS:          bus.TLSFiles{CA: c.TLSCA, Cert: c.TLSCert, Key: c.TLSKey},
		AddressFile:  c.EmbeddedNATSFile(),
		CredsDir:     c.EmbeddedNATSCredsDir(),
		User:         name,
		Node:         node,
		Stream:       StreamConfig(node, c),
		ManageStream: name == bus.UserGateway,
		Logger:       logger,
	}
}

// StreamConfig is the JetStream stream node's daemons publish events to.
// The embedded server is a single server: one replica whatever is set.
func StreamConfig(node string, c config.Common) jetstream.StreamConfig {
	l := events.Limits{MaxAge: c.MaxAge, MaxBytes: c.MaxBytes, Replicas: c.Replicas}
	if c.NATSServers() == nil {
		l.Replicas = 1
	}
	if l.MaxAge == 0 {
		l.MaxAge = 24 * time.Hour
	}
	if l.MaxBytes == 0 {
		l.MaxBytes = 256 << 20
	}
	return events.NodeStreamConfig(node, l)
}

// Go runs fn under the daemon's errgroup: it stops the daemon if it fails.
func (d *Daemon) Go(fn func() error) { d.group.Go(fn) }

// GRPCServer returns a server with Berth's interceptors.
func (d *Daemon) GRPCServer(extra ...grpc.ServerOption) *grpc.Server {
	return grpcserver.New(d.Log, extra...)
}

// Serve registers the admin service and serves srv on the daemon's socket
// (and metrics on metricsAddr when set) until ctx ends.
func (d *Daemon) Serve(ctx context.Context, srv *grpc.Server, admin Admin, metricsAddr string) error {
	if admin != nil {
		RegisterAdmin(srv, d.Name, admin)
	}
	g, gctx := errgroup.WithContext(ctx)
	if metricsAddr != "" {
		g.Go(func() error { return ServeMetrics(gctx, metricsAddr) })
	}
	g.Go(func() error { return grpcserver.Serve(gctx, srv, d.Common.Socket(d.Name)) })
	return g.Wait()
}
