package embedded

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"berth.dev/pkg/bus"
	"berth.dev/pkg/events"
)

// leafOptions make the server a leaf node of the hub. The node keeps its
// own JetStream domain (its id), so its stream lives and takes events on
// the node while the hub is unreachable; the hub mirrors it across the link
// and catches up when the link comes back.
func leafOptions(opts *server.Options, c Config) error {
	if c.Leaf.HubDomain == "" || c.Leaf.HubDomain == c.Node {
		return fmt.Errorf("leaf node %q needs a hub JetStream domain other than its own", c.Node)
	}
	remote := &server.RemoteLeafOpts{}
	if err := leafCredentials(remote, c.Leaf.Credentials); err != nil {
		return err
	}
	for _, u := range c.Leaf.URLs {
		pu, err := url.Parse(u)
		if err != nil || pu.Host == "" {
			return fmt.Errorf("leaf hub url %q: want nats-leaf://host:port", u)
		}
		remote.URLs = append(remote.URLs, pu)
	}
	if t := c.Leaf.TLS; t.CA != "" || t.Cert != "" {
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CaFile: t.CA, CertFile: t.Cert, KeyFile: t.Key})
		if err != nil {
			return fmt.Errorf("leaf tls: %w", err)
		}
		remote.TLS, remote.TLSConfig = true, tc
	}
	opts.JetStreamDomain = c.Node
	opts.LeafNode.Remotes = []*server.RemoteLeafOpts{remote}
	opts.LeafNode.ReconnectInterval = time.Second
	return nil
}

// keepHubMirror makes sure the hub holds a mirror of this node's stream,
// retrying while the hub is unreachable, and checking again now and then in
// case an operator removed it.
func keepHubMirror(ctx context.Context, srv *server.Server, c Config) {
	auth, err := bus.EmbeddedAuth(c.CredsDir, bus.UserGateway)
	if err != nil {
		return
	}
	nc, err := nats.Connect("", append(auth, nats.InProcessServer(srv), nats.Name("berth-hub-mirror"), nats.MaxReconnects(-1))...)
	if err != nil {
		return
	}
	defer nc.Close()
	js, err := jetstream.NewWithDomain(nc, c.Leaf.HubDomain)
	if err != nil {
		return
	}
	cfg := events.HubMirrorConfig(c.Node, c.Limits)
	wait := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := js.CreateOrUpdateStream(cctx, cfg)
		cancel()
		wait = time.Minute
		if err != nil {
			wait = 2 * time.Second
		}
	}
}

// leafCredentials takes a .creds file (hub in operator mode) or an nkey
// seed file (the hub's leafnodes authorization names its public key).
func leafCredentials(remote *server.RemoteLeafOpts, path string) error {
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("leaf credentials: %w", err)
	}
	if strings.Contains(string(data), "BEGIN NATS USER JWT") {
		remote.Credentials = path
		return nil
	}
	kp, err := nkeys.ParseDecoratedNKey(data)
	if err != nil {
		return fmt.Errorf("leaf credentials %s: neither a .creds file nor an nkey seed: %w", path, err)
	}
	seed, err := kp.Seed()
	if err != nil {
		return fmt.Errorf("leaf credentials %s: %w", path, err)
	}
	remote.Nkey = string(seed)
	return nil
}
