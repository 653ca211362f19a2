package events

import (
	"context"
	"time"

	"berth.dev/pkg/bus"
)

// Follow delivers events to fn as a Subscriber of o reading through b
// does, from before NATS is reachable until ctx ends: while b has no
// stream to read (NATS away, the stream not yet made) it reports why
// through o.OnError and tries again on reconnection or after a moment.
// A daemon's own readers of the node's events (the gateway's fan-out to
// its clients, the CRI's exit monitor) run on it, each with its options.
func Follow(ctx context.Context, b *bus.Bus, o SubscribeOptions, fn Handler) error {
	sub, err := NewSubscriber(nil, o)
	if err != nil {
		return err
	}
	for {
		js, err := b.Stream(ctx)
		if err == nil {
			sub.js = js
			return sub.Run(ctx, fn)
		}
		sub.report(b.StreamName(), err)
		select {
		case <-ctx.Done():
			return nil
		case <-b.Reconnected():
		case <-time.After(250 * time.Millisecond):
		}
	}
}
