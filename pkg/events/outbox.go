package events

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/containerd/typeurl/v2"
	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"berth.dev/pkg/store"
	eventsv1 "berth.dev/proto/berth/events/v1"
)

// Keys beginning with 0x00 are reserved for the outbox; a daemon's own
// records never start with that byte.
var (
	outboxPrefix = []byte("\x00outbox/")
	instanceKey  = []byte("\x00outbox-instance")
	sequenceKey  = []byte("\x00outbox-seq")
)

// Outbox records events in the daemon's badger store, in the transaction of
// the change they describe, until the publisher has delivered them.
type Outbox struct {
	db       *badger.DB
	node     string
	source   string
	instance string
	seq      *badger.Sequence
	kick     chan struct{}
}

// OutboxOption changes how an outbox records events.
type OutboxOption func(*Outbox)

// WithNode stamps events with the node they happen on (BERTH_NODE_ID); it
// picks their subject and stream. Without it events carry no node and are
// published as node "local".
func WithNode(node string) OutboxOption { return func(o *Outbox) { o.node = node } }

// LocalNode is the node of events recorded without WithNode.
const LocalNode = "local"

// NewOutbox opens the outbox of db. source names the daemon in envelopes.
func NewOutbox(db *badger.DB, source string, opts ...OutboxOption) (*Outbox, error) {
	instance, err := loadInstance(db)
	if err != nil {
		return nil, err
	}
	seq, err := db.GetSequence(sequenceKey, 1024)
	if err != nil {
		return nil, fmt.Errorf("outbox sequence: %w", err)
	}
	o := &Outbox{db: db, node: LocalNode, source: source, instance: instance, seq: seq, kick: make(chan struct{}, 1)}
	for _, opt := range opts {
		opt(o)
	}
	return o, nil
}

// loadInstance returns the random id of this database, created once. Event
// ids embed it so that a wiped store never reuses an id the stream has seen.
func loadInstance(db *badger.DB) (string, error) {
	id, err := store.ValueOnce(db, instanceKey, func() ([]byte, error) {
		b := make([]byte, 6)
		_, err := rand.Read(b)
		return []byte(hex.EncodeToString(b)), err
	})
	return string(id), err
}

// Close releases the sequence lease.
func (o *Outbox) Close() error { return o.seq.Release() }

// Recorder adds events to the transaction it was handed with.
type Recorder struct {
	o     *Outbox
	txn   *badger.Txn
	added int
}

// Add records an event. ev is one of containerd's event messages.
func (r *Recorder) Add(namespace, topic string, ev proto.Message) error {
	payload, err := typeurl.MarshalAnyToProto(ev)
	if err != nil {
		return fmt.Errorf("event %s: %w", topic, err)
	}
	return r.AddEnvelope(&eventsv1.Envelope{
		Timestamp: timestamppb.Now(),
		Namespace: namespace,
		Topic:     topic,
		Event:     payload,
	})
}

// AddKeyed records an event that must reach the stream at most once
// whoever records it: its id is made of key (which names the change, not
// the attempt to record it) instead of a sequence number, so a second
// entry for the same change is the same message to JetStream, whose
// duplicate window drops it. The daemon still de-duplicates in its own
// transaction; this catches what slips past it.
func (r *Recorder) AddKeyed(namespace, topic, key string, ev proto.Message) error {
	if key == "" {
		return fmt.Errorf("event %s: empty key", topic)
	}
	payload, err := typeurl.MarshalAnyToProto(ev)
	if err != nil {
		return fmt.Errorf("event %s: %w", topic, err)
	}
	return r.add(&eventsv1.Envelope{
		Timestamp: timestamppb.Now(),
		Namespace: namespace,
		Topic:     topic,
		Event:     payload,
	}, key)
}

// AddEnvelope records an already built envelope (used for forwarded
// events); its id and source are assigned here.
func (r *Recorder) AddEnvelope(env *eventsv1.Envelope) error { return r.add(env, "") }

// add records env under the next sequence number, which keeps the outbox in
// order; its id is that number, or idKey when there is one.
func (r *Recorder) add(env *eventsv1.Envelope, idKey string) error {
	n, err := r.o.seq.Next()
	if err != nil {
		return fmt.Errorf("outbox sequence: %w", err)
	}
	if idKey != "" {
		env.Id = fmt.Sprintf("%s-%s-%s", r.o.source, r.o.instance, idKey)
	} else {
		env.Id = fmt.Sprintf("%s-%s-%d", r.o.source, r.o.instance, n)
	}
	if env.Source == "" {
		env.Source = r.o.source
	}
	// An event is of the node that records it, forwarded ones included.
	env.Node = r.o.node
	if env.Timestamp == nil {
		env.Timestamp = timestamppb.Now()
	}
	data, err := proto.Marshal(env)
	if err != nil {
		return err
	}
	key := make([]byte, len(outboxPrefix)+8)
	copy(key, outboxPrefix)
	binary.BigEndian.PutUint64(key[len(outboxPrefix):], n)
	r.added++
	return r.txn.Set(key, data)
}

// Update runs fn in a read-write transaction; events fn adds are committed
// with its changes or not at all. A conflicting concurrent transaction is
// retried, so fn must not have side effects outside the transaction.
func (o *Outbox) Update(ctx context.Context, fn func(txn *badger.Txn, rec *Recorder) error) error {
	var rec *Recorder
	err := store.Update(ctx, o.db, func(txn *badger.Txn) error {
		rec = &Recorder{o: o, txn: txn}
		return fn(txn, rec)
	})
	if err == nil && rec.added > 0 {
		o.Kick()
	}
	return err
}

// Kick wakes the publisher.
func (o *Outbox) Kick() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

type pending struct {
	key []byte
	env *eventsv1.Envelope
	raw []byte
}

// next returns up to limit undelivered events, oldest first.
func (o *Outbox) next(limit int) ([]pending, error) {
	var out []pending
	err := o.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: outboxPrefix, PrefetchValues: true, PrefetchSize: limit})
		defer it.Close()
		for it.Rewind(); it.Valid() && len(out) < limit; it.Next() {
			item := it.Item()
			raw, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			env := &eventsv1.Envelope{}
			if err := proto.Unmarshal(raw, env); err != nil {
				return fmt.Errorf("outbox entry %x: %w", item.Key(), err)
			}
			out = append(out, pending{key: item.KeyCopy(nil), env: env, raw: raw})
		}
		return nil
	})
	return out, err
}

// done removes delivered events.
func (o *Outbox) done(keys [][]byte) error {
	wb := o.db.NewWriteBatch()
	defer wb.Cancel()
	for _, k := range keys {
		if err := wb.Delete(k); err != nil {
			return err
		}
	}
	return wb.Flush()
}

// Pending counts undelivered events (for tests and metrics).
func (o *Outbox) Pending() (int, error) {
	n := 0
	err := o.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: outboxPrefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	return n, err
}
