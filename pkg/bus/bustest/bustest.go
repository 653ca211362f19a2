// Package bustest runs NATS servers with JetStream for tests, on fixed
// loopback ports and store dirs so that a test can stop one and start it
// again like an operator's NATS going down and coming back: a single
// server, a three-server cluster, or a hub that leaf nodes attach to.
package bustest

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is a restartable JetStream server.
type Server struct {
	t    testing.TB
	opts server.Options
	srv  *server.Server
}

// Start runs a server on a free port; it is stopped when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := newServer(t, server.Options{Host: "127.0.0.1", Port: FreePort(t), JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	s.Restart()
	return s
}

func newServer(t testing.TB, opts server.Options) *Server {
	s := &Server{t: t, opts: opts}
	t.Cleanup(s.Stop)
	return s
}

// FreePort returns a loopback TCP port nobody listens on right now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// URL is the client URL.
func (s *Server) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.opts.Port) }

// Restart starts a stopped server with the same ports and store.
func (s *Server) Restart() {
	s.t.Helper()
	opts := s.opts
	srv, err := server.NewServer(&opts)
	if err != nil {
		s.t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		s.t.Fatal("nats not ready")
	}
	s.srv = srv
}

// Running reports whether the server runs.
func (s *Server) Running() bool { return s.srv != nil }

// Stop shuts the server down; JetStream data stays for Restart.
func (s *Server) Stop() {
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
		s.srv = nil
	}
}
