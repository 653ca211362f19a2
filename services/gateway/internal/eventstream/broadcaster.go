package eventstream

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"

	"berth.dev/pkg/bus"
	"berth.dev/pkg/events"
	"berth.dev/pkg/log"
	eventsv1 "berth.dev/proto/berth/events/v1"
)

// subscriberBuffer is how many events a subscriber may fall behind before it
// is cut off; a stuck client must not hold the others back.
const subscriberBuffer = 1024

// ErrSlow ends a subscription that fell too far behind.
var ErrSlow = errors.New("subscriber fell too far behind")

// Subscription receives events until Done closes.
type Subscription struct {
	C    <-chan *eventsv1.Envelope
	c    chan *eventsv1.Envelope
	done chan struct{}
	err  error
}

// Done closes when the subscription was cut off; Err says why.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err returns why the subscription ended.
func (s *Subscription) Err() error { return s.err }

// Broadcaster fans events out.
type Broadcaster struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
}

// New returns an empty broadcaster.
func New() *Broadcaster { return &Broadcaster{subs: map[*Subscription]struct{}{}} }

// Subscribe registers a subscriber; cancel unregisters it.
func (b *Broadcaster) Subscribe() (*Subscription, func()) {
	c := make(chan *eventsv1.Envelope, subscriberBuffer)
	s := &Subscription{C: c, c: c, done: make(chan struct{})}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s, func() {
		b.mu.Lock()
		delete(b.subs, s)
		b.mu.Unlock()
	}
}

func (b *Broadcaster) publish(env *eventsv1.Envelope) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		select {
		case s.c <- env:
		default:
			s.err = ErrSlow
			close(s.done)
			delete(b.subs, s)
		}
	}
}

// Run consumes this node's events from the stream's current end until
// ctx ends, retrying while NATS or the stream is absent.
func (b *Broadcaster) Run(ctx context.Context, nb *bus.Bus) error {
	logger := log.G(ctx).With(zap.String("component", "eventstream"))
	// An ephemeral ordered consumer: it recreates itself after a
	// disconnect, starting after the last event it delivered.
	return events.Follow(ctx, nb, events.SubscribeOptions{
		Node: nb.Node(),
		// A consumer that ended is made again within a moment, not after
		// the default rescan.
		Rescan: 250 * time.Millisecond,
		OnError: func(stream string, err error) {
			logger.Debug("event stream unavailable, retrying", zap.String("stream", stream), zap.Error(err))
		},
	}, func(ev events.Event) error {
		b.publish(ev.Envelope)
		return nil
	})
}
