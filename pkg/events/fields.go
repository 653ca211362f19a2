package events

import (
	_ "github.com/containerd/containerd/api/events" // registers the event types event.<path> filters decode
	"github.com/containerd/typeurl/v2"

	"berth.dev/pkg/filters"
	eventsv1 "berth.dev/proto/berth/events/v1"
)

// Fields adapts an envelope to containerd's filter syntax: topic,
// namespace, source, node, and the event's own fields as event.<path>
// (for the containerd event types that expose them).
func Fields(env *eventsv1.Envelope) filters.Adaptor {
	return filters.AdapterFunc(func(path []string) (string, bool) {
		if len(path) == 0 {
			return "", false
		}
		switch path[0] {
		case "topic":
			return env.Topic, true
		case "namespace":
			return env.Namespace, true
		case "source":
			return env.Source, true
		case "node":
			return env.Node, true
		case "event":
			return eventField(env, path[1:])
		}
		return "", false
	})
}

type fielder interface {
	Field([]string) (string, bool)
}

func eventField(env *eventsv1.Envelope, path []string) (string, bool) {
	if env.Event == nil {
		return "", false
	}
	if len(path) == 0 {
		return "", true
	}
	v, err := typeurl.UnmarshalAny(env.Event)
	if err != nil {
		return "", false
	}
	if f, ok := v.(fielder); ok {
		return f.Field(path)
	}
	return "", false
}
