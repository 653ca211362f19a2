package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/containerd/typeurl/v2"
	"github.com/nats-io/nats.go/jetstream"

	"berth.dev/pkg/bus"
	"berth.dev/pkg/config"
	"berth.dev/pkg/events"
	filter "berth.dev/pkg/filters"
)

// busFlags say how `berth events` reaches the event bus itself, for events
// of other nodes than the one behind the node socket.
type busFlags struct {
	allNodes bool
	node     string
	url      string
	creds    string
	domain   string
}

// fromBus reports whether the events come from NATS rather than the node
// socket's events service.
func (b busFlags) fromBus() bool { return b.allNodes || b.node != "" }

// connectTimeout bounds how long the CLI waits for the bus before saying
// it cannot be reached: the bus client itself retries forever, as the
// daemons need, which would leave a person staring at nothing.
const connectTimeout = 5 * time.Second

// dialBus connects as the operator user: to the servers of --nats-url
// (BERTH_NATS_URL) with --nats-creds, or else to this node's embedded server,
// whose address and seeds are under the state dir (root only).
func (g *globals) dialBus(ctx context.Context, f busFlags) (*bus.Bus, jetstream.JetStream, error) {
	state := g.stateDir()
	o := bus.Options{
		Name:        "berth-cli",
		Servers:     splitURLs(f.url),
		Credentials: f.creds,
		TLS: bus.TLSFiles{CA: envOr("BERTH_NATS_TLS_CA", ""), Cert: envOr("BERTH_NATS_TLS_CERT", ""),
			Key: envOr("BERTH_NATS_TLS_KEY", "")},
		AddressFile: filepath.Join(state, "nats.url"),
		CredsDir:    filepath.Join(state, "nats"),
		User:        bus.UserAdmin,
	}
	b, err := bus.Connect(o)
	if err != nil {
		return nil, nil, err
	}
	deadline := time.Now().Add(connectTimeout)
	for !b.Conn().IsConnected() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			where := f.url
			if where == "" {
				where = "the node's embedded server (" + o.AddressFile + ")"
			}
			last := b.Conn().LastError()
			b.Close()
			return nil, nil, fmt.Errorf("event bus at %s not reachable in %v: %v", where, connectTimeout, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var js jetstream.JetStream
	if f.domain != "" {
		js, err = jetstream.NewWithDomain(b.Conn(), f.domain)
	} else {
		js, err = jetstream.New(b.Conn())
	}
	if err != nil {
		b.Close()
		return nil, nil, err
	}
	return b, js, nil
}

func splitURLs(s string) []string {
	var out []string
	for _, u := range strings.Split(s, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// busEvents prints the events of one node or of every node read from
// JetStream until ctx ends.
func (g *globals) busEvents(ctx context.Context, f busFlags, filters []string, out outputFlags) error {
	node := f.node
	if f.allNodes {
		node = events.AnyNode
	} else if err := config.ValidateNode(node); err != nil {
		return usageError{err}
	}
	// A typo in a filter is the person's to fix, not a bus to wait for.
	if _, err := filter.Parse(filters...); err != nil {
		return usageError{err}
	}
	b, js, err := g.dialBus(ctx, f)
	if err != nil {
		return err
	}
	defer b.Close()
	sub, err := events.NewSubscriber(js, events.SubscribeOptions{Node: node, Filters: filters,
		OnError: func(stream string, err error) { g.debugf("events of %s: %v", stream, err) }})
	if err != nil {
		return usageError{err}
	}
	return sub.Run(ctx, func(ev events.Event) error {
		row := eventRow{Timestamp: ev.Timestamp.AsTime(), Node: ev.Node, Namespace: ev.Namespace, Topic: ev.Topic}
		if ev.Event != nil {
			if v, err := typeurl.UnmarshalAny(ev.Event); err == nil {
				row.Event = v
			}
		}
		return g.printEvent(row, out)
	})
}
