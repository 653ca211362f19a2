package config

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/containerd/errdefs"
)

// NATS says where the event bus is, who this node is on it, and how big its
// event stream may grow.
type NATS struct {
	NodeID   string `env:"BERTH_NODE_ID" doc:"this node's name in event subjects, envelopes and stream names ([A-Za-z0-9_-], at most 64); empty uses the host name up to its first dot"`
	NATSURL  string `env:"BERTH_NATS_URL" doc:"external NATS server(s), comma separated; empty runs NATS embedded in the gateway"`
	NATSCred string `env:"BERTH_NATS_CREDS" doc:"credentials for an external server: a .creds file (JWT + nkey seed), an nkey seed file, or a directory with <daemon>.creds or <daemon>.nk per daemon"`
	TLSCA    string `env:"BERTH_NATS_TLS_CA" doc:"CA bundle that verifies the external NATS servers (and the hub of a leaf node); setting it requires TLS"`
	TLSCert  string `env:"BERTH_NATS_TLS_CERT" doc:"client certificate for external NATS servers or the hub (with BERTH_NATS_TLS_KEY)"`
	TLSKey   string `env:"BERTH_NATS_TLS_KEY" doc:"key of BERTH_NATS_TLS_CERT"`

	LeafURL   string `env:"BERTH_NATS_LEAF_URL" doc:"hub cluster URL(s), comma separated: the embedded NATS runs as a leaf node of that cluster and mirrors this node's events into it"`
	LeafCreds string `env:"BERTH_NATS_LEAF_CREDS" doc:"credentials the leaf link presents to the hub: a .creds file or an nkey seed file"`
	HubDomain string `env:"BERTH_NATS_HUB_DOMAIN" envDefault:"hub" doc:"JetStream domain of the hub cluster a leaf node mirrors its events into"`

	Replicas int           `env:"BERTH_NATS_REPLICAS" envDefault:"1" doc:"replicas of this node's event stream on an external cluster, or of its mirror in a leaf node's hub (3 where there are three servers); the embedded server's own stream keeps 1"`
	MaxAge   time.Duration `env:"BERTH_NATS_MAX_AGE" envDefault:"24h" doc:"events older than this leave the stream"`
	MaxBytes int64         `env:"BERTH_NATS_MAX_BYTES" envDefault:"268435456" doc:"the stream drops its oldest events beyond this size"`
}

// nodeToken is what a node id may hold: one NATS subject token that is also
// a valid stream, consumer and JetStream domain name.
var nodeToken = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Node returns the node id: BERTH_NODE_ID, or the host name up to its first
// dot. An id that is not a single subject token is an error, never mangled:
// two nodes must not end up sharing one.
func (n NATS) Node() (string, error) {
	id := n.NodeID
	if id == "" {
		h, err := os.Hostname()
		if err != nil {
			return "", fmt.Errorf("node id: %w", err)
		}
		id, _, _ = strings.Cut(h, ".")
	}
	if err := ValidateNode(id); err != nil {
		return "", err
	}
	return id, nil
}

// ValidateNode checks a node id.
func ValidateNode(id string) error {
	if !nodeToken.MatchString(id) {
		return fmt.Errorf("node id %q: want 1-64 of A-Z a-z 0-9 _ - (set BERTH_NODE_ID): %w", id, errdefs.ErrInvalidArgument)
	}
	return nil
}

// LeafURLs returns the hub URLs of a leaf node, or nil.
func (n NATS) LeafURLs() []string { return splitList(n.LeafURL) }
