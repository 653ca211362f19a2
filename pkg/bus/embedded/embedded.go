package embedded

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"berth.dev/pkg/bus"
	"berth.dev/pkg/config"
	"berth.dev/pkg/events"
)

// Config says how to run the embedded server.
type Config struct {
	// StoreDir holds JetStream's data.
	StoreDir string
	// AddressFile receives host:port for the other daemons.
	AddressFile string
	// CredsDir holds the users' nkey seeds (created if absent).
	CredsDir string
	// Node is this node's id: the JetStream domain of a leaf node.
	Node string
	// Leaf, when set, makes the server a leaf node of a hub cluster.
	Leaf *Leaf
	// Limits bound the hub's mirror of this node's stream.
	Limits events.Limits
}

// Leaf says how a leaf node reaches its hub.
type Leaf struct {
	URLs        []string
	Credentials string
	TLS         bus.TLSFiles
	// HubDomain is the hub's JetStream domain.
	HubDomain string
}

// ConfigFrom builds the embedded server's config from a daemon's.
func ConfigFrom(c config.Common, storeDir string) (Config, error) {
	node, err := c.Node()
	if err != nil {
		return Config{}, err
	}
	cfg := Config{
		StoreDir:    storeDir,
		AddressFile: c.EmbeddedNATSFile(),
		CredsDir:    c.EmbeddedNATSCredsDir(),
		Node:        node,
		Limits:      events.Limits{MaxAge: c.MaxAge, MaxBytes: c.MaxBytes, Replicas: c.Replicas},
	}
	if urls := c.LeafURLs(); len(urls) > 0 {
		cfg.Leaf = &Leaf{URLs: urls, Credentials: c.LeafCreds, TLS: bus.TLSFiles{CA: c.TLSCA, Cert: c.TLSCert, Key: c.TLSKey}, HubDomain: c.HubDomain}
	}
	return cfg, nil
}

// Embedded is a NATS server with JetStream inside the gateway, for machines
// that run no NATS of their own, or that reach their cluster as a leaf.
type Embedded struct {
	srv         *server.Server
	addressFile string
	stop        context.CancelFunc
	done        chan struct{}
}

// Start starts a server on a free loopback port (so two stacks on one
// machine never collide) that admits only the users whose seeds are in
// CredsDir, each with its own permissions, stores JetStream data under
// StoreDir, and records host:port in AddressFile for the other daemons.
// NATS cannot listen on a unix socket, so loopback TCP plus nkeys is what
// keeps other local users off the bus.
func Start(c Config) (*Embedded, error) {
	opts, err := serverOptions(c)
	if err != nil {
		return nil, err
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded nats did not become ready")
	}
	addr, ok := srv.Addr().(*net.TCPAddr)
	if !ok {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded nats has no TCP address")
	}
	e := &Embedded{srv: srv, addressFile: c.AddressFile, stop: func() {}, done: make(chan struct{})}
	if err := writeAtomic(c.AddressFile, net.JoinHostPort("127.0.0.1", strconv.Itoa(addr.Port))); err != nil {
		srv.Shutdown()
		return nil, err
	}
	if c.Leaf != nil {
		ctx, cancel := context.WithCancel(context.Background())
		e.stop = cancel
		go func() { defer close(e.done); keepHubMirror(ctx, srv, c) }()
	} else {
		close(e.done)
	}
	return e, nil
}

func serverOptions(c Config) (*server.Options, error) {
	if err := bus.EnsureSeeds(c.CredsDir); err != nil {
		return nil, err
	}
	hubDomain := ""
	if c.Leaf != nil {
		hubDomain = c.Leaf.HubDomain
	}
	nkeys, err := users(c.CredsDir, c.Node, hubDomain)
	if err != nil {
		return nil, err
	}
	opts := &server.Options{
		ServerName:         "berth-" + c.Node,
		Host:               "127.0.0.1",
		Port:               server.RANDOM_PORT,
		NoSigs:             true,
		NoLog:              true,
		Nkeys:              nkeys,
		JetStream:          true,
		StoreDir:           c.StoreDir,
		JetStreamMaxMemory: 8 << 20,
		// Room for the stream's own limit, whatever the operator set.
		JetStreamMaxStore: max(1<<30, 2*c.Limits.MaxBytes),
		MaxPayload:        8 << 20,
	}
	if c.Leaf != nil {
		if err := leafOptions(opts, c); err != nil {
			return nil, err
		}
	}
	return opts, nil
}

// Shutdown stops the server and forgets its address.
func (e *Embedded) Shutdown() {
	e.stop()
	<-e.done
	os.Remove(e.addressFile)
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}

func writeAtomic(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o711); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// StartFor starts the server a daemon's config describes.
func StartFor(c config.Common, storeDir string) (*Embedded, error) {
	cfg, err := ConfigFrom(c, storeDir)
	if err != nil {
		return nil, err
	}
	return Start(cfg)
}
