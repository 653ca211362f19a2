package router

import (
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"

	"berth.dev/pkg/grpcclient"
)

// Backend is one daemon behind the gateway.
type Backend struct {
	Name   string
	Socket string
	// Services are the full gRPC service names (or prefixes ending in '.')
	// the daemon owns.
	Services []string
	// Conn forwards without converting errors, so statuses pass unchanged.
	Conn *grpc.ClientConn
}

// Dial connects a backend lazily.
func Dial(name, socket string, services ...string) (*Backend, error) {
	cc, err := grpcclient.DialRaw(socket)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &Backend{Name: name, Socket: socket, Services: services, Conn: cc}, nil
}

// owns reports whether service belongs to b.
func (b *Backend) owns(service string) bool {
	for _, s := range b.Services {
		if s == service || strings.HasSuffix(s, ".") && strings.HasPrefix(service, s) {
			return true
		}
	}
	return false
}

// Close closes the connection.
func (b *Backend) Close() error { return b.Conn.Close() }

// RestartGrace is how long a call waits for a daemon that is not
// connected before it fails with Unavailable: long enough for a daemon
// that died to be restarted (systemd's RestartSec=1 and its start), so
// that a client calling in that moment, a containerd client deleting its
// lease for one, is answered instead of failed; short enough that a daemon
// which stays down is reported soon. Nothing has been sent while it waits,
// so no call is ever applied twice.
const RestartGrace = 3 * time.Second

// awaitReady waits, at most grace and never past ctx, until b's
// connection is ready. A call that then finds no connection fails fast as
// before.
func (b *Backend) awaitReady(ctx context.Context, grace time.Duration) {
	st := b.Conn.GetState()
	if st == connectivity.Ready || grace <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	// Retry at once, not after the backoff grown while the daemon was
	// down; gRPC's own backoff (50 ms, growing) paces the retries after.
	b.Conn.ResetConnectBackoff()
	b.Conn.Connect()
	for st != connectivity.Ready && st != connectivity.Shutdown {
		if !b.Conn.WaitForStateChange(ctx, st) {
			return
		}
		st = b.Conn.GetState()
	}
}
