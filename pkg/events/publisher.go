package events

import (
	"context"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"berth.dev/pkg/bus"
	"berth.dev/pkg/log"
)

const publishBatch = 256

// Run drains the outbox to JetStream until ctx ends. It publishes in order,
// with the envelope id as the message id, and deletes an entry only once
// the stream acknowledged it; while NATS is unreachable it waits and retries.
func (o *Outbox) Run(ctx context.Context, b *bus.Bus) error {
	logger := log.G(ctx).With(zap.String("component", "outbox"))
	retry := time.NewTimer(0)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-o.kick:
		case <-retry.C:
		case <-b.Reconnected():
		}
		for {
			n, err := o.publishOnce(ctx, b)
			if err != nil {
				logger.Debug("outbox not drained, will retry", zap.Error(err))
				retry.Reset(250 * time.Millisecond)
				break
			}
			if n < publishBatch {
				break
			}
		}
	}
}

func (o *Outbox) publishOnce(ctx context.Context, b *bus.Bus) (int, error) {
	batch, err := o.next(publishBatch)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	js, err := b.Stream(ctx)
	if err != nil {
		return 0, err
	}
	futures := make([]jetstream.PubAckFuture, 0, len(batch))
	for _, p := range batch {
		raw, err := o.restamp(p)
		if err != nil {
			return 0, err
		}
		msg := &nats.Msg{Subject: NodeSubject(o.node, p.env.Namespace, p.env.Topic), Data: raw, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, p.env.Id)
		f, err := js.PublishMsgAsync(msg, jetstream.WithExpectStream(b.StreamName()))
		if err != nil {
			return 0, err
		}
		futures = append(futures, f)
	}
	var keys [][]byte
	var firstErr error
	for i, f := range futures {
		select {
		case <-f.Ok():
			// Stop at the first failure so delivery stays in order.
			if firstErr == nil {
				keys = append(keys, batch[i].key)
			}
		case err := <-f.Err():
			if firstErr == nil {
				firstErr = err
			}
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	if len(keys) > 0 {
		if err := o.done(keys); err != nil {
			return 0, err
		}
	}
	return len(keys), firstErr
}

// restamp returns the envelope as published: events recorded before they
// carried a node, or before the node was renamed, go out as this node's,
// since only this node's subjects reach its stream.
func (o *Outbox) restamp(p pending) ([]byte, error) {
	if p.env.Node == o.node {
		return p.raw, nil
	}
	p.env.Node = o.node
	return proto.Marshal(p.env)
}
