package grpcclient

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/containerd/errdefs/pkg/errgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"berth.dev/pkg/grpcserver"
)

// Dial returns a lazily connecting client for the unix socket at path. The
// connection re-establishes itself when the daemon restarts. Errors come
// back as errdefs errors.
func Dial(path string, extra ...grpc.DialOption) (*grpc.ClientConn, error) {
	return DialRaw(path, append([]grpc.DialOption{
		grpc.WithChainUnaryInterceptor(unaryErrors),
		grpc.WithChainStreamInterceptor(streamErrors),
	}, extra...)...)
}

// DialRaw is Dial without error conversion, for forwarding calls whose
// status must reach the original caller unchanged.
func DialRaw(path string, extra ...grpc.DialOption) (*grpc.ClientConn, error) {
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}),
		// A restarted daemon should be reached again within a fraction of a
		// second, not after gRPC's default backoff of up to two minutes.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, MaxDelay: time.Second},
			MinConnectTimeout: time.Second,
		}),
		grpc.WithInitialWindowSize(grpcserver.StreamWindow),
		grpc.WithInitialConnWindowSize(grpcserver.ConnWindow),
		grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(grpcserver.MaxMessageSize),
			grpc.MaxCallSendMsgSize(grpcserver.MaxMessageSize),
		),
	}
	cc, err := grpc.NewClient("passthrough:///"+path, append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", path, err)
	}
	return cc, nil
}

func unaryErrors(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return toNative(invoker(ctx, method, req, reply, cc, opts...))
}

func streamErrors(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, toNative(err)
	}
	return &clientStream{ClientStream: s}, nil
}

type clientStream struct{ grpc.ClientStream }

func (s *clientStream) RecvMsg(m any) error { return toNative(s.ClientStream.RecvMsg(m)) }
func (s *clientStream) SendMsg(m any) error { return toNative(s.ClientStream.SendMsg(m)) }

// toNative converts status errors only: io.EOF ends a stream and must stay
// io.EOF for callers.
func toNative(err error) error {
	if _, ok := status.FromError(err); !ok || err == nil {
		return err
	}
	return errgrpc.ToNative(err)
}
