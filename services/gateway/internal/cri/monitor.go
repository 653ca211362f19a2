package cri

import (
	"context"
	"time"

	apievents "github.com/containerd/containerd/api/events"
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
// and reconciles every record with taskd once connected. An event it
// could not apply is delivered again a moment later.
func (s *RuntimeService) Monitor(ctx context.Context, nb *bus.Bus) error {
	logger := log.G(ctx).With(zap.String("component", "cri-monitor"))
	ctx = log.WithLogger(ctx, logger)
	go s.reconcileUntilDone(ctx)
	node := s.Node
	if node == "" {
		node = nb.Node()
	}
	return events.Follow(ctx, nb, events.SubscribeOptions{
		Node:      node,
		Namespace: Namespace,
		Topics:    []string{events.TopicTaskExit, events.TopicTaskOOM},
		Durable:   consumerName,
		// A consumer that ended is made again within a moment, not
		// after the default rescan.
		Rescan: 250 * time.Millisecond,
		OnError: func(stream string, err error) {
			logger.Debug("task events unavailable, retrying", zap.String("stream", stream), zap.Error(err))
		},
	}, func(ev events.Event) error {
		if err := s.handleEvent(ctx, ev.Envelope); err != nil {
			logger.Warn("task event not applied, will be redelivered", zap.String("subject", ev.Subject), zap.Error(err))
			return err
		}
		return nil
	})
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

func (s *RuntimeService) handleEvent(ctx context.Context, env *eventsv1.Envelope) error {
	if env.Event == nil {
		return nil // nothing to apply: never will be
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
