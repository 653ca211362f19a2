package bustest

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Cluster is n JetStream servers routed to each other on loopback, each
// with its own store dir and cluster port.
type Cluster struct {
	Servers []*Server
}

// StartCluster runs a cluster of n servers and waits until JetStream has a
// leader. domain, if set, is the cluster's JetStream domain (a hub for leaf
// nodes, which then also listens for leaf connections).
func StartCluster(t testing.TB, n int, domain string) *Cluster {
	t.Helper()
	name := fmt.Sprintf("berth-test-%d", time.Now().UnixNano()%1e6)
	clusterPorts := make([]int, n)
	for i := range clusterPorts {
		clusterPorts[i] = FreePort(t)
	}
	c := &Cluster{}
	for i := 0; i < n; i++ {
		var routes []*url.URL
		for j, p := range clusterPorts {
			if j != i {
				routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", p)})
			}
		}
		opts := server.Options{
			ServerName: fmt.Sprintf("%s-s%d", name, i+1),
			Host:       "127.0.0.1", Port: FreePort(t),
			JetStream: true, JetStreamDomain: domain, StoreDir: t.TempDir(),
			Cluster: server.ClusterOpts{Name: name, Host: "127.0.0.1", Port: clusterPorts[i]},
			Routes:  routes,
			NoSigs:  true, NoLog: true,
		}
		if n == 1 { // a lone server runs JetStream without a cluster
			opts.Cluster, opts.Routes = server.ClusterOpts{}, nil
		}
		if domain != "" {
			opts.LeafNode = server.LeafNodeOpts{Host: "127.0.0.1", Port: FreePort(t)}
		}
		c.Servers = append(c.Servers, newServer(t, opts))
	}
	for _, s := range c.Servers {
		s.Restart()
	}
	c.WaitReady(t)
	return c
}

// URL lists every server's client URL.
func (c *Cluster) URL() string {
	var urls []string
	for _, s := range c.Servers {
		urls = append(urls, s.URL())
	}
	return strings.Join(urls, ",")
}

// LeafURL lists every server's leaf node URL.
func (c *Cluster) LeafURL() string {
	var urls []string
	for _, s := range c.Servers {
		urls = append(urls, fmt.Sprintf("nats-leaf://127.0.0.1:%d", s.opts.LeafNode.Port))
	}
	return strings.Join(urls, ",")
}

// LeafAddrs lists every server's leaf node host:port.
func (c *Cluster) LeafAddrs() []string {
	var out []string
	for _, s := range c.Servers {
		out = append(out, fmt.Sprintf("127.0.0.1:%d", s.opts.LeafNode.Port))
	}
	return out
}

// WaitReady waits until JetStream answers through every running server.
func (c *Cluster) WaitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, s := range c.Servers {
		if !s.Running() {
			continue
		}
		for {
			err := jsReady(s.URL())
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("jetstream not ready on %s: %v", s.URL(), err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func jsReady(u string) error {
	nc, err := nats.Connect(u)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = js.AccountInfo(ctx)
	return err
}
