package embedded

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Embedded is a NATS server with JetStream inside the gateway, for machines
// that run no NATS of their own.
type Embedded struct {
	srv         *server.Server
	addressFile string
}

// Start starts a server on a free loopback port (so two stacks on one
// machine never collide), stores JetStream data under storeDir, and records
// host:port in addressFile for the other daemons.
func Start(storeDir, addressFile string) (*Embedded, error) {
	opts := &server.Options{
		ServerName:         "berth-embedded",
		Host:               "127.0.0.1",
		Port:               server.RANDOM_PORT,
		NoSigs:             true,
		NoLog:              true,
		JetStream:          true,
		StoreDir:           storeDir,
		JetStreamMaxMemory: 8 << 20,
		JetStreamMaxStore:  1 << 30,
		MaxPayload:         8 << 20,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded nats did not become ready")
	}
	addr, ok := srv.Addr().(*net.TCPAddr)
	if !ok {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded nats has no TCP address")
	}
	e := &Embedded{srv: srv, addressFile: addressFile}
	if err := writeAtomic(addressFile, net.JoinHostPort("127.0.0.1", strconv.Itoa(addr.Port))); err != nil {
		srv.Shutdown()
		return nil, err
	}
	return e, nil
}

// Shutdown stops the server and forgets its address.
func (e *Embedded) Shutdown() {
	os.Remove(e.addressFile)
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}

func writeAtomic(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o711); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
