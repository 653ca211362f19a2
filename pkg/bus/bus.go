package bus

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// Options say where NATS is and who connects.
type Options struct {
	// Name identifies the client to the server (the daemon's name).
	Name string
	// Servers are external NATS URLs; empty means the embedded server whose
	// address is in AddressFile.
	Servers []string
	// Credentials is, for external servers, a NATS .creds file (JWT +
	// seed), an nkey seed file, or a directory holding one per user
	// (<user>.creds or <user>.nk), so each daemon logs in as itself.
	Credentials string
	// TLS verifies external servers (CA) and presents a client certificate.
	TLS TLSFiles
	// AddressFile holds the embedded server's host:port.
	AddressFile string
	// CredsDir holds the embedded server's nkey seeds; User picks the one
	// this client logs in with.
	CredsDir string
	User     string
	// Node is the node's id; on external servers it tells this node's
	// daemons' replies from other nodes' (ExternalInboxPrefix).
	Node string
	// Stream is the JetStream stream events go to.
	Stream jetstream.StreamConfig
	// ManageStream creates or updates Stream. Only the gateway does: the
	// other daemons may only look it up and publish to it.
	ManageStream bool
	Logger       *zap.Logger
}

// TLSFiles name PEM files; all empty means no TLS.
type TLSFiles struct{ CA, Cert, Key string }

// Bus is a daemon's NATS connection.
type Bus struct {
	nc          *nats.Conn
	js          jetstream.JetStream
	stream      jetstream.StreamConfig
	node        string
	manage      bool
	mu          sync.Mutex
	ensured     bool
	reconnected chan struct{}
}

// Connect returns a connection that keeps retrying in the background; it
// fails only on invalid options.
func Connect(o Options) (*Bus, error) {
	b := &Bus{stream: o.Stream, node: o.Node, manage: o.ManageStream, reconnected: make(chan struct{}, 1)}
	logger := o.Logger
	if logger == nil {
		logger = zap.NewNop()
	}
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(100 * time.Millisecond),
		nats.ReconnectJitter(50*time.Millisecond, 50*time.Millisecond),
		nats.ReconnectBufSize(-1), // the outbox, not the client, buffers
		// A server that refused us may accept us after the gateway
		// restarted with the seeds restored: never stop trying.
		nats.IgnoreAuthErrorAbort(),
		nats.ConnectHandler(func(*nats.Conn) { b.onConnect(logger, "connected") }),
		nats.ReconnectHandler(func(*nats.Conn) { b.onConnect(logger, "reconnected") }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			logger.Info("nats disconnected", zap.Error(err))
		}),
	}
	url := strings.Join(o.Servers, ",")
	if len(o.Servers) == 0 {
		embedded, err := embeddedOptions(o)
		if err != nil {
			return nil, err
		}
		url = "nats://embedded:4222"
		opts = append(opts, embedded...)
	} else {
		external, err := externalOptions(o)
		if err != nil {
			return nil, err
		}
		opts = append(opts, external...)
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("nats connect: %w", err)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(5*time.Second), jetstream.WithPublishAsyncMaxPending(1024))
	if err != nil {
		nc.Close()
		return nil, err
	}
	b.nc, b.js = nc, js
	return b, nil
}

// embeddedOptions log in to the gateway's server with the user's nkey.
func embeddedOptions(o Options) ([]nats.Option, error) {
	if o.AddressFile == "" || o.CredsDir == "" || o.User == "" {
		return nil, fmt.Errorf("nats: no servers given, and the embedded server's address file, credentials dir or user is missing")
	}
	if err := EnsureSeeds(o.CredsDir); err != nil {
		return nil, err
	}
	auth, err := EmbeddedAuth(o.CredsDir, o.User)
	if err != nil {
		return nil, err
	}
	// The embedded server may move to another port when the gateway
	// restarts, so every dial reads the address anew.
	return append(auth, nats.SetCustomDialer(fileDialer(o.AddressFile))), nil
}

// externalOptions add credentials and TLS for an operator's servers.
func externalOptions(o Options) ([]nats.Option, error) {
	var opts []nats.Option
	if o.User != "" && o.Node != "" {
		opts = append(opts, nats.CustomInboxPrefix(ExternalInboxPrefix(o.Node, o.User)))
	}
	if o.Credentials != "" {
		opt, err := credentialsOption(o.Credentials, o.User)
		if err != nil {
			return nil, err
		}
		opts = append(opts, opt)
	}
	tlsOpts, err := o.TLS.options()
	if err != nil {
		return nil, err
	}
	return append(opts, tlsOpts...), nil
}

// credentialsOption reads a .creds file (decentralised auth, with a JWT)
// or a bare nkey seed (users listed in the server's config), or user's
// file in a directory of them.
func credentialsOption(path, user string) (nats.Option, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, user+".creds")
		if _, err := os.Stat(path); err != nil {
			path = strings.TrimSuffix(path, ".creds") + ".nk"
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("nats credentials: %w", err)
	}
	if strings.Contains(string(data), "BEGIN NATS USER JWT") {
		return nats.UserCredentials(path), nil
	}
	opt, err := nats.NkeyOptionFromSeed(path)
	if err != nil {
		return nil, fmt.Errorf("nats credentials %s: neither a .creds file nor an nkey seed: %w", path, err)
	}
	return opt, nil
}

func (t TLSFiles) options() ([]nats.Option, error) {
	var opts []nats.Option
	if t.CA != "" {
		opts = append(opts, nats.RootCAs(t.CA))
	}
	if (t.Cert == "") != (t.Key == "") {
		return nil, fmt.Errorf("nats tls: a client certificate needs both cert and key")
	}
	if t.Cert != "" {
		opts = append(opts, nats.ClientCert(t.Cert, t.Key))
	}
	return opts, nil
}

func (b *Bus) onConnect(logger *zap.Logger, what string) {
	logger.Info("nats "+what, zap.String("server", b.nc.ConnectedUrlRedacted()))
	b.mu.Lock()
	b.ensured = false
	b.mu.Unlock()
	select {
	case b.reconnected <- struct{}{}:
	default:
	}
}

// Reconnected fires after each (re)connection.
func (b *Bus) Reconnected() <-chan struct{} { return b.reconnected }

// Conn returns the underlying connection.
func (b *Bus) Conn() *nats.Conn { return b.nc }

// Node is the id of the node this connection publishes for ("" if not
// told): consumers of the node's own events filter on
// events.SubjectFilter(b.Node(), ...).
func (b *Bus) Node() string { return b.node }

// StreamName is the name of the stream events go to.
func (b *Bus) StreamName() string { return b.stream.Name }

// Stream returns JetStream once connected, with the events stream present:
// created or updated by the daemon that manages it, looked up by the others.
func (b *Bus) Stream(ctx context.Context) (jetstream.JetStream, error) {
	if !b.nc.IsConnected() {
		return nil, fmt.Errorf("nats not connected")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.ensured {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var err error
		if b.manage {
			_, err = b.js.CreateOrUpdateStream(cctx, b.stream)
		} else {
			_, err = b.js.Stream(cctx, b.stream.Name)
		}
		if err != nil {
			return nil, fmt.Errorf("ensure stream %s: %w", b.stream.Name, err)
		}
		b.ensured = true
	}
	return b.js, nil
}

// Close drains nothing: the outbox keeps what was not acknowledged.
func (b *Bus) Close() { b.nc.Close() }

type fileDialer string

func (f fileDialer) Dial(network, _ string) (net.Conn, error) {
	addr, err := os.ReadFile(string(f))
	if err != nil {
		return nil, fmt.Errorf("embedded nats address: %w", err)
	}
	return net.DialTimeout(network, strings.TrimSpace(string(addr)), time.Second)
}
