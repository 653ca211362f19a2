package grpcserver

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"berth.dev/pkg/log"
	"berth.dev/pkg/namespace"
)

func requestContext(ctx context.Context, logger *zap.Logger, method string) context.Context {
	fields := []zap.Field{zap.String("method", method)}
	if ns, ok := namespace.FromContext(ctx); ok {
		fields = append(fields, zap.String("namespace", ns))
	}
	return log.WithLogger(ctx, logger.With(fields...))
}

func unaryInterceptor(logger *zap.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		ctx = requestContext(ctx, logger, info.FullMethod)
		resp, err := recovered(ctx, func() (any, error) { return handler(ctx, req) })
		err = toGRPC(err)
		observe(ctx, info.FullMethod, start, err)
		return resp, err
	}
}

func streamInterceptor(logger *zap.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := time.Now()
		ctx := requestContext(ss.Context(), logger, info.FullMethod)
		_, err := recovered(ctx, func() (any, error) { return nil, handler(srv, &stream{ServerStream: ss, ctx: ctx}) })
		err = toGRPC(err)
		observe(ctx, info.FullMethod, start, err)
		return err
	}
}

// recovered runs a handler and turns its panic into Internal, logging the
// stack: one bad request must not take the daemon and every other client's
// calls down with it. A panic in a goroutine the handler started is not
// caught here; it still ends the process.
func recovered(ctx context.Context, call func() (any, error)) (resp any, err error) {
	defer func() {
		if r := recover(); r != nil {
			log.G(ctx).Error("handler panicked", zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
			resp, err = nil, fmt.Errorf("the handler panicked: %v: %w", r, errdefs.ErrInternal)
		}
	}()
	return call()
}

type stream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *stream) Context() context.Context { return s.ctx }

// toGRPC maps errdefs errors to status codes once, at the edge. Errors that
// already carry a status (forwarded from another daemon) pass unchanged.
func toGRPC(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return errgrpc.ToGRPC(err)
}
