package server

import (
	"context"
	"fmt"

	_ "github.com/containerd/containerd/api/events" // registers the event types Subscribe filters decode
	api "github.com/containerd/containerd/api/services/events/v1"
	"github.com/containerd/containerd/api/types"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"
	"github.com/dgraph-io/badger/v4"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"berth.dev/pkg/events"
	"berth.dev/pkg/filters"
	"berth.dev/pkg/namespace"
	eventsv1 "berth.dev/proto/berth/events/v1"
	"berth.dev/services/gateway/internal/eventstream"
)

// Events serves containerd.services.events.v1 over the NATS event stream.
type Events struct {
	api.UnimplementedEventsServer
	Broadcaster *eventstream.Broadcaster
	Outbox      *events.Outbox
}

// Register adds the service to srv.
func (s *Events) Register(srv *grpc.Server) { api.RegisterEventsServer(srv, s) }

func (s *Events) Publish(ctx context.Context, req *api.PublishRequest) (*emptypb.Empty, error) {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return nil, err
	}
	return s.record(ctx, &eventsv1.Envelope{Namespace: ns, Topic: req.Topic, Event: req.Event})
}

func (s *Events) Forward(ctx context.Context, req *api.ForwardRequest) (*emptypb.Empty, error) {
	e := req.GetEnvelope()
	if e == nil {
		return nil, fmt.Errorf("forward needs an envelope: %w", errdefs.ErrInvalidArgument)
	}
	if err := namespace.Validate(e.Namespace); err != nil {
		return nil, err
	}
	return s.record(ctx, &eventsv1.Envelope{Namespace: e.Namespace, Topic: e.Topic, Event: e.Event, Timestamp: e.Timestamp, Source: "forwarded"})
}

func (s *Events) record(ctx context.Context, env *eventsv1.Envelope) (*emptypb.Empty, error) {
	if !events.ValidTopic(env.Topic) {
		return nil, fmt.Errorf("topic %q must be /-separated words: %w", env.Topic, errdefs.ErrInvalidArgument)
	}
	if env.Event == nil {
		return nil, fmt.Errorf("event is required: %w", errdefs.ErrInvalidArgument)
	}
	err := s.Outbox.Update(ctx, func(_ *badger.Txn, rec *events.Recorder) error {
		return rec.AddEnvelope(env)
	})
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func (s *Events) Subscribe(req *api.SubscribeRequest, ss api.Events_SubscribeServer) error {
	f, err := filters.Parse(req.Filters...)
	if err != nil {
		return err
	}
	sub, cancel := s.Broadcaster.Subscribe()
	defer cancel()
	ctx := ss.Context()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-sub.Done():
			return fmt.Errorf("events subscription: %w: %w", sub.Err(), errdefs.ErrResourceExhausted)
		case env := <-sub.C:
			if !f.Match(envelopeAdaptor{env}) {
				continue
			}
			out := &types.Envelope{Timestamp: env.Timestamp, Namespace: env.Namespace, Topic: env.Topic, Event: env.Event}
			if err := ss.Send(out); err != nil {
				return err
			}
		}
	}
}

// envelopeAdaptor exposes topic, namespace and the event's own fields
// (event.<path>), as containerd's filters on events do.
type envelopeAdaptor struct{ env *eventsv1.Envelope }

type fielder interface {
	Field([]string) (string, bool)
}

func (a envelopeAdaptor) Field(path []string) (string, bool) {
	switch path[0] {
	case "topic":
		return a.env.Topic, true
	case "namespace":
		return a.env.Namespace, true
	case "event":
		if len(path) < 2 || a.env.Event == nil {
			return "", a.env.Event != nil
		}
		v, err := typeurl.UnmarshalAny(a.env.Event)
		if err != nil {
			return "", false
		}
		if fv, ok := v.(fielder); ok {
			return fv.Field(path[1:])
		}
	case "source":
		return a.env.Source, true
	}
	return "", false
}
