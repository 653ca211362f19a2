package cli

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"berth.dev/pkg/grpcclient"
	"berth.dev/pkg/namespace"
)

// checkSocket tells apart "nothing there", "not allowed" and "dead socket"
// before any call, so the error says what to do instead of a gRPC timeout.
func (g *globals) checkSocket() error {
	if _, err := os.Stat(g.address); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return notRunningError{g.address, "its node socket does not exist"}
		}
		if errors.Is(err, os.ErrPermission) {
			return permissionError{g.address}
		}
		return err
	}
	conn, err := net.DialTimeout("unix", g.address, 2*time.Second)
	switch {
	case err == nil:
		conn.Close()
		return nil
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return permissionError{g.address}
	case errors.Is(err, syscall.ECONNREFUSED):
		return notRunningError{g.address, "nothing listens on its node socket"}
	default:
		return err
	}
}

// connect returns containerd's client on the node socket and a context in
// the chosen namespace.
func (g *globals) connect(ctx context.Context) (*containerd.Client, context.Context, error) {
	if err := namespace.Validate(g.namespace); err != nil {
		return nil, nil, usageError{err}
	}
	if err := g.checkSocket(); err != nil {
		return nil, nil, err
	}
	g.debugf("connecting to %s, namespace %s", g.address, g.namespace)
	c, err := containerd.New(g.address, containerd.WithDefaultNamespace(g.namespace), containerd.WithTimeout(5*time.Second),
		containerd.WithExtraDialOpts(g.traceCalls()))
	if err != nil {
		return nil, nil, err
	}
	return c, namespaces.WithNamespace(ctx, g.namespace), nil
}

// dialBerth opens a connection for Berth's own services (berth.images.v1,
// berth.tasks.v1), with errors mapped back to errdefs.
func (g *globals) dialBerth(ctx context.Context) (*grpc.ClientConn, context.Context, error) {
	if err := namespace.Validate(g.namespace); err != nil {
		return nil, nil, usageError{err}
	}
	if err := g.checkSocket(); err != nil {
		return nil, nil, err
	}
	cc, err := grpcclient.Dial(g.address, g.traceCalls()...)
	if err != nil {
		return nil, nil, err
	}
	return cc, namespace.WithNamespace(ctx, g.namespace), nil
}

// stateDir is the node's BERTH_STATE: the directory of the node socket,
// where every daemon's socket lives too.
func (g *globals) stateDir() string { return filepath.Dir(g.address) }

// rootDir is the node's BERTH_ROOT, where the CLI keeps container logs.
func rootDir() string { return envOr("BERTH_ROOT", "/var/lib/berth") }

// traceCalls prints every call with --debug.
func (g *globals) traceCalls() []grpc.DialOption {
	if !g.debug {
		return nil
	}
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			start := time.Now()
			err := invoker(ctx, method, req, reply, cc, opts...)
			g.debugf("%s %v err=%v", method, time.Since(start).Round(time.Microsecond), err)
			return err
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			g.debugf("%s (stream)", method)
			return streamer(ctx, desc, cc, method, opts...)
		}),
	}
}

// withClient makes a command body that needs the node's client: it
// connects in the chosen namespace, runs fn and closes the client.
func (g *globals) withClient(fn func(ctx context.Context, client *containerd.Client, args []string) error) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, args []string) error {
		client, ctx, err := g.connect(c.Context())
		if err != nil {
			return err
		}
		defer client.Close()
		return fn(ctx, client, args)
	}
}
