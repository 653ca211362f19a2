package fdsocket

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// TestServeWaitsForHandlers: each connection is handled, and Serve returns
// after ctx ends only once the handlers under way have returned.
func TestServeWaitsForHandlers(t *testing.T) {
	l, err := net.Listen("unix", filepath.Join(t.TempDir(), "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started, release := make(chan struct{}), make(chan struct{})
	finished := make(chan struct{})
	served := make(chan error, 1)
	go func() {
		served <- Serve(ctx, l, func(_ context.Context, c *net.UnixConn) {
			close(started)
			<-release
			close(finished)
		})
	}()
	c, err := net.Dial("unix", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	<-started
	cancel()
	select {
	case err := <-served:
		t.Fatalf("Serve returned (%v) with a handler still running", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	select {
	case <-finished:
	default:
		t.Fatal("Serve returned before its handler")
	}
}
