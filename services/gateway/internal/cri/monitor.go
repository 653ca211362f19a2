package cri

import (
	"context"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"berth.dev/pkg/bus"
	"berth.dev/pkg/events"
	"berth.dev/pkg/log"
	eventsv1 "berth.dev/proto/berth/events/v1"
)

// consumerName is the durable JetStream consumer of task exits and OOMs:
// the stream keeps its position while the gateway is down, so an exit
// meanwhile is applied when it comes back.
const consumerName = "berth-gateway-cri"

// Monitor applies taskd's exit and OOM events in k8s.io until ctx ends,
// and reconciles every record with taskd once connected.
func (s *RuntimeService) Monitor(ctx context.Context, nb *bus.Bus) error {
	logger := log.G(ctx).With(zap.String("component", "cri-monitor"))
	ctx = log.WithLogger(ctx, logger)
	go s.reconcileUntilDone(ctx)
	for {
		err := s.consume(ctx, nb)
		if ctx.Err() != nil {
			return nil
		}
		logger.Debug("task events unavailable, retrying", zap.Error(err))
		select {
		case <-ctx.Done():
			return nil
		case <-nb.Reconnected():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// reconcileUntilDone retries while taskd is unreachable.
func (s *RuntimeService) reconcileUntilDone(ctx context.Context) {
	for delay := 100 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
		err := s.Reconcile(ctx)
		if err == nil || ctx.Err() != nil {
			return
		}
		log.G(ctx).Info("reconcile with taskd failed, retrying", zap.Error(err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

func (s *RuntimeService) consume(ctx context.Context, nb *bus.Bus) error {
	js, err := nb.Stream(ctx)
	if err != nil {
		return err
	}
	node := s.Node
	if node == "" {
		node = nb.Node()
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, nb.StreamName(), jetstream.ConsumerConfig{
		Durable:        consumerName,
		FilterSubjects: events.SubjectFilters(node, Namespace, events.TopicTaskExit, events.TopicTaskOOM),
		AckPolicy:      jetstream.AckExplicitPolicy,
		DeliverPolicy:  jetstream.DeliverNewPolicy,
		AckWait:        30 * time.Second,
		MaxAckPending:  256,
	})
	if err != nil {
		return err
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		if err := s.handleEvent(ctx, msg.Data()); err != nil {
			log.G(ctx).Warn("task event not applied, will be redelivered", zap.String("subject", msg.Subject()), zap.Error(err))
			msg.NakWithDelay(time.Second)
			return
		}
		msg.Ack()
	})
	if err != nil {
		return err
	}
	defer cc.Stop()
	select {
	case <-ctx.Done():
		return nil
	case <-cc.Closed():
		return nil
	}
}

func (s *RuntimeService) handleEvent(ctx context.Context, data []byte) error {
	env := &eventsv1.Envelope{}
	if err := proto.Unmarshal(data, env); err != nil || env.Event == nil {
		return nil // undecodable: never will be
	}
	dctx := daemonCtx(ctx)
	switch env.Topic {
	case events.TopicTaskExit:
		e := &apievents.TaskExit{}
		if err := proto.Unmarshal(env.Event.Value, e); err != nil {
			return nil
		}
		if e.ID != "" && e.ID != e.ContainerID {
			return nil // an exec ended
		}
		return s.handleExit(dctx, e.ContainerID, exit{code: e.ExitStatus, at: e.ExitedAt.AsTime()})
	case events.TopicTaskOOM:
		e := &apievents.TaskOOM{}
		if err := proto.Unmarshal(env.Event.Value, e); err != nil {
			return nil
		}
		return s.handleOOM(dctx, e.ContainerID)
	}
	return nil
}
