package grpcserver

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	"berth.dev/pkg/log"
)

// MaxMessageSize bounds a single message; larger ones get ResourceExhausted.
// containerd uses 16 MiB, and ctr's content writes stay below it.
const MaxMessageSize = 16 << 20

// Keepalive: a client whose connection died (a killed process, a vanished
// network namespace) stops answering pings and its connection, with every
// stream it had open, is closed within Time+Timeout instead of pinning the
// streams' goroutines and buffers forever. Clients may ping as often as
// every MinTime, also without streams (containerd's client does).
var (
	keepaliveParams = keepalive.ServerParameters{Time: 2 * time.Minute, Timeout: 20 * time.Second}
	keepalivePolicy = keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}
)

// Flow-control windows for 1 MiB content messages on unix sockets, the
// same on both ends (pkg/grpcclient dials with them): a whole write
// message goes through without waiting for a window update, from a
// connection's first message on rather than once gRPC's bandwidth
// estimator has grown its 64 KiB start. The connection window is the
// estimator's own ceiling, so a client can have no more buffered in a
// daemon than before.
const (
	StreamWindow = 4 << 20
	ConnWindow   = 16 << 20
)

// New returns a server with Berth's interceptors, health and reflection.
// extra options (for example the gateway's UnknownServiceHandler) are added.
func New(logger *zap.Logger, extra ...grpc.ServerOption) *grpc.Server {
	opts := []grpc.ServerOption{
		encodedCodec(),
		grpc.MaxRecvMsgSize(MaxMessageSize),
		grpc.MaxSendMsgSize(MaxMessageSize),
		grpc.InitialWindowSize(StreamWindow),
		grpc.InitialConnWindowSize(ConnWindow),
		grpc.KeepaliveParams(keepaliveParams),
		grpc.KeepaliveEnforcementPolicy(keepalivePolicy),
		grpc.ChainUnaryInterceptor(unaryInterceptor(logger)),
		grpc.ChainStreamInterceptor(streamInterceptor(logger)),
		// Calls run on goroutines kept between calls, whose stacks have
		// grown already, rather than on a new goroutine each, which grew
		// its stack again for every call: a small call through the
		// gateway to taskd took a fifth less CPU in both with workers. A
		// call finding every worker busy (Waits, streams) gets a goroutine
		// of its own, as before.
		grpc.NumStreamWorkers(uint32(runtime.GOMAXPROCS(0))),
	}
	srv := grpc.NewServer(append(opts, extra...)...)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	reflection.Register(srv)
	return srv
}

// Listen opens a unix socket at path, root-owned with mode 0660. A stale
// socket left by a crashed daemon is replaced; a live one is an error, so
// two daemons never share a socket.
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o711); err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); err == nil {
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("socket %s is in use by another process", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale socket: %w", err)
		}
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o660); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// Serve serves srv on the unix socket at path until ctx ends, then stops
// gracefully (bounded, so a stuck stream cannot hold shutdown forever).
func Serve(ctx context.Context, srv *grpc.Server, path string) error {
	l, err := Listen(path)
	if err != nil {
		return err
	}
	log.G(ctx).Info("serving", zap.String("socket", path))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	done := make(chan struct{})
	go func() { srv.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		srv.Stop()
	}
	os.Remove(path)
	return nil
}
