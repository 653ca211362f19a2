package events

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"berth.dev/pkg/filters"
	eventsv1 "berth.dev/proto/berth/events/v1"
)

// SubscribeOptions choose the events a Subscriber receives.
type SubscribeOptions struct {
	// Node is the node whose events to read; "" or AnyNode reads every
	// node's stream, including nodes that appear later.
	Node string
	// Namespace and Topics narrow the subjects the server delivers
	// ("" and nil: all).
	Namespace string
	Topics    []string
	// Filters are containerd's filter expressions (any may match) over
	// topic, namespace, source, node and event.<field>, applied on the
	// client.
	Filters []string
	// Durable names a consumer the server keeps, per stream, across
	// restarts: events are delivered until the handler accepts them. Empty
	// means an ephemeral consumer that sees events from now on.
	Durable string
	// DeliverAll starts a new consumer at the oldest event kept instead of
	// at the next one.
	DeliverAll bool
	// OnError hears why a stream could not be read for now (NATS away, a
	// refused consumer); the subscriber keeps trying.
	OnError func(stream string, err error)
	// Rescan is how often the streams of all nodes are listed again to find
	// new nodes (default 5s).
	Rescan time.Duration
}

// Event is one delivered event.
type Event struct {
	*eventsv1.Envelope
	Subject string
	// Stream and Sequence locate the event in JetStream.
	Stream   string
	Sequence uint64
}

// Handler receives events one at a time. An error asks for the event
// again later (durable consumers only; ephemeral ones move on).
type Handler func(Event) error

// Subscriber reads Berth events of one node or of the fleet from JetStream.
type Subscriber struct {
	js       jetstream.JetStream
	o        SubscribeOptions
	filter   filters.Filter
	subjects []string
}

// NewSubscriber checks o and returns a subscriber reading through js.
func NewSubscriber(js jetstream.JetStream, o SubscribeOptions) (*Subscriber, error) {
	if o.Node == "" {
		o.Node = AnyNode
	}
	if o.Node != AnyNode && !validToken(o.Node) {
		return nil, fmt.Errorf("node %q is not a subject token: %w", o.Node, errdefs.ErrInvalidArgument)
	}
	if o.Durable != "" && !validToken(o.Durable) {
		return nil, fmt.Errorf("durable name %q: want letters, digits, _ and -: %w", o.Durable, errdefs.ErrInvalidArgument)
	}
	f, err := filters.Parse(o.Filters...)
	if err != nil {
		return nil, err
	}
	s := &Subscriber{js: js, o: o, filter: f}
	for _, topic := range o.Topics {
		if !ValidTopic(topic) {
			return nil, fmt.Errorf("topic %q must be /-separated words: %w", topic, errdefs.ErrInvalidArgument)
		}
	}
	s.subjects = SubjectFilters(o.Node, o.Namespace, o.Topics...)
	if s.o.Rescan <= 0 {
		s.o.Rescan = 5 * time.Second
	}
	return s, nil
}

// Run delivers events to fn until ctx ends. Events of one node arrive in
// order; events of different nodes interleave. fn is never called
// concurrently.
func (s *Subscriber) Run(ctx context.Context, fn Handler) error {
	var mu sync.Mutex
	deliver := func(ev Event, msg jetstream.Msg) {
		mu.Lock()
		defer mu.Unlock()
		s.deliver(ev, msg, fn)
	}
	running := map[string]consumption{}
	defer func() {
		for _, c := range running {
			c.cc.Stop()
		}
	}()
	for {
		names, err := s.streams(ctx)
		if err != nil {
			s.report("", err)
		}
		s.consumeAll(ctx, names, running, deliver)
		wait := s.o.Rescan
		if len(running) < len(names) || len(names) == 0 {
			wait = min(wait, 250*time.Millisecond)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// consumption is a stream's consumer and the channel closed once it has
// stopped. The channel is asked for once per consumer: an ordered
// consumer's Closed starts a goroutine at every call that lives as long
// as the consumer, so asking at every rescan (four times a second for the
// gateway's fan-out) piled up goroutines for as long as the daemon ran.
type consumption struct {
	cc     jetstream.ConsumeContext
	closed <-chan struct{}
}

func (c consumption) ended() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

// consumeAll starts a consumer on each stream of names that has none
// running, recording it in running.
func (s *Subscriber) consumeAll(ctx context.Context, names []string, running map[string]consumption, deliver func(Event, jetstream.Msg)) {
	for _, name := range names {
		if c, ok := running[name]; ok && !c.ended() {
			continue
		}
		cc, err := s.consume(ctx, name, deliver)
		if err != nil {
			s.report(name, err)
			continue
		}
		running[name] = consumption{cc: cc, closed: cc.Closed()}
	}
}

func (s *Subscriber) report(stream string, err error) {
	if s.o.OnError != nil && err != nil {
		s.o.OnError(stream, err)
	}
}

// streams lists the streams to read: the node's, or every node's.
func (s *Subscriber) streams(ctx context.Context) ([]string, error) {
	if s.o.Node != AnyNode {
		return []string{NodeStream(s.o.Node)}, nil
	}
	lister := s.js.StreamNames(ctx)
	var out []string
	for name := range lister.Name() {
		if strings.HasPrefix(name, StreamName+"_") {
			out = append(out, name)
		}
	}
	return out, lister.Err()
}

func (s *Subscriber) consume(ctx context.Context, stream string, deliver func(Event, jetstream.Msg)) (jetstream.ConsumeContext, error) {
	policy := jetstream.DeliverNewPolicy
	if s.o.DeliverAll {
		policy = jetstream.DeliverAllPolicy
	}
	var cons jetstream.Consumer
	var err error
	if s.o.Durable != "" {
		cons, err = s.js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
			Durable:        s.o.Durable,
			FilterSubjects: s.subjects,
			DeliverPolicy:  policy,
			AckPolicy:      jetstream.AckExplicitPolicy,
		})
	} else {
		// An ordered consumer recreates itself after a disconnect or a
		// server loss, resuming after the last event it delivered.
		cons, err = s.js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{
			FilterSubjects: s.subjects,
			DeliverPolicy:  policy,
		})
	}
	if err != nil {
		return nil, err
	}
	return cons.Consume(func(msg jetstream.Msg) {
		env := &eventsv1.Envelope{}
		if err := proto.Unmarshal(msg.Data(), env); err != nil {
			// Nothing will ever decode it: do not ask for it again.
			_ = msg.Term()
			return
		}
		ev := Event{Envelope: env, Subject: msg.Subject(), Stream: stream}
		if md, err := msg.Metadata(); err == nil {
			ev.Sequence = md.Sequence.Stream
		}
		deliver(ev, msg)
	})
}

func (s *Subscriber) deliver(ev Event, msg jetstream.Msg, fn Handler) {
	durable := s.o.Durable != ""
	if !s.filter.Match(Fields(ev.Envelope)) {
		if durable {
			_ = msg.Ack()
		}
		return
	}
	if err := fn(ev); err != nil {
		if durable {
			_ = msg.NakWithDelay(time.Second)
		}
		return
	}
	if durable {
		_ = msg.Ack()
	}
}

func validToken(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
