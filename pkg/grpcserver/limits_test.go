package grpcserver

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// TestServerRefusesOversizedMessagesOnRootOnlySocket: a message over
// MaxMessageSize is refused with ResourceExhausted before a handler sees
// it, and the socket is root's with mode 0660.
func TestServerRefusesOversizedMessagesOnRootOnlySocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.sock")
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := New(zap.NewNop())
	go srv.Serve(l)
	t.Cleanup(srv.Stop)

	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket mode %v, %v; want 0660", fi.Mode().Perm(), err)
	}

	conn, err := grpc.NewClient("unix://"+path,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	hc := healthpb.NewHealthClient(conn)
	if _, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("small request: %v", err)
	}
	_, err = hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: strings.Repeat("x", MaxMessageSize+1)})
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("oversized request: %v, want ResourceExhausted", err)
	}
	// The connection survives the refusal.
	if _, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("after the refusal: %v", err)
	}
}
