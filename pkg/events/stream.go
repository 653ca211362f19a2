package events

import (
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Limits bound a node's stream.
type Limits struct {
	MaxAge   time.Duration
	MaxBytes int64
	// Replicas is 1 on a single server, 3 on a three-server cluster.
	Replicas int
}

// NodeStreamConfig is the stream holding node's events: its subjects only,
// on disk, de-duplicating republished outbox entries for ten minutes.
func NodeStreamConfig(node string, l Limits) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:       NodeStream(node),
		Subjects:   []string{NodeSubjectAll(node)},
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		MaxAge:     l.MaxAge,
		MaxBytes:   l.MaxBytes,
		Replicas:   max(l.Replicas, 1),
		Duplicates: 10 * time.Minute,
		Discard:    jetstream.DiscardOld,
	}
}

// HubMirrorConfig is the hub's copy of a leaf node's stream: a mirror of
// NodeStream(node) in the leaf's JetStream domain (the node id), under the
// same name, so fleet consumers find every node's events alike whether it
// is a leaf or connects to the cluster directly.
func HubMirrorConfig(node string, l Limits) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:      NodeStream(node),
		Mirror:    &jetstream.StreamSource{Name: NodeStream(node), Domain: node},
		Storage:   jetstream.FileStorage,
		Retention: jetstream.LimitsPolicy,
		MaxAge:    l.MaxAge,
		MaxBytes:  l.MaxBytes,
		Replicas:  max(l.Replicas, 1),
		Discard:   jetstream.DiscardOld,
	}
}
