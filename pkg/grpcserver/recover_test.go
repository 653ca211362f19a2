package grpcserver

import (
	"context"
	"path/filepath"
	"testing"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// panicking is a health service whose calls panic.
type panicking struct {
	healthpb.UnimplementedHealthServer
}

func (panicking) Check(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	panic("unary boom")
}

func (panicking) Watch(*healthpb.HealthCheckRequest, healthpb.Health_WatchServer) error {
	panic("stream boom")
}

func TestHandlerPanicBecomesInternalAndServerLives(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.sock")
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(unaryInterceptor(zap.NewNop())),
		grpc.ChainStreamInterceptor(streamInterceptor(zap.NewNop())))
	healthpb.RegisterHealthServer(srv, panicking{})
	go srv.Serve(l)
	t.Cleanup(srv.Stop)

	conn, err := grpc.NewClient("unix://"+path, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	hc := healthpb.NewHealthClient(conn)
	for i := 0; i < 2; i++ { // the second call proves the server survived the first
		_, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{})
		if status.Code(err) != codes.Internal {
			t.Fatalf("unary call %d: %v, want Internal", i, err)
		}
	}
	w, err := hc.Watch(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Recv(); status.Code(err) != codes.Internal {
		t.Fatalf("stream: %v, want Internal", err)
	}
	if _, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{}); status.Code(err) != codes.Internal {
		t.Fatalf("after the stream's panic: %v, want Internal", err)
	}
}
