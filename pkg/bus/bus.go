package bus

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// Options say where NATS is.
type Options struct {
	// Name identifies the client to the server (the daemon's name).
	Name string
	// Servers are external NATS URLs; empty means the embedded server whose
	// address is in AddressFile.
	Servers []string
	// Credentials is a NATS credentials file for external servers.
	Credentials string
	// AddressFile holds the embedded server's host:port.
	AddressFile string
	// StreamConfig is the JetStream stream events go to, created if absent.
	Stream jetstream.StreamConfig
	Logger *zap.Logger
}

// Bus is a daemon's NATS connection.
type Bus struct {
	nc          *nats.Conn
	js          jetstream.JetStream
	stream      jetstream.StreamConfig
	mu          sync.Mutex
	ensured     bool
	reconnected chan struct{}
}

// Connect returns a connection that keeps retrying in the background; it
// fails only on invalid options.
func Connect(o Options) (*Bus, error) {
	b := &Bus{stream: o.Stream, reconnected: make(chan struct{}, 1)}
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
		nats.ConnectHandler(func(*nats.Conn) { b.onConnect(logger, "connected") }),
		nats.ReconnectHandler(func(*nats.Conn) { b.onConnect(logger, "reconnected") }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			logger.Info("nats disconnected", zap.Error(err))
		}),
	}
	url := strings.Join(o.Servers, ",")
	if len(o.Servers) == 0 {
		if o.AddressFile == "" {
			return nil, fmt.Errorf("nats: neither servers nor an embedded address file given")
		}
		// The embedded server may move to another port when the gateway
		// restarts, so every dial reads the address anew.
		url = "nats://embedded:4222"
		opts = append(opts, nats.SetCustomDialer(fileDialer(o.AddressFile)))
	}
	if o.Credentials != "" {
		opts = append(opts, nats.UserCredentials(o.Credentials))
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

// Stream returns JetStream once connected, with the events stream present.
func (b *Bus) Stream(ctx context.Context) (jetstream.JetStream, error) {
	if !b.nc.IsConnected() {
		return nil, fmt.Errorf("nats not connected")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.ensured {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if _, err := b.js.CreateOrUpdateStream(cctx, b.stream); err != nil {
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
