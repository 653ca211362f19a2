package router

import (
	"fmt"
	"strings"

	"google.golang.org/grpc"

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
