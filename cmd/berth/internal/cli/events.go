package cli

import (
	"fmt"
	"time"

	"github.com/containerd/typeurl/v2"
	"github.com/spf13/cobra"

	"berth.dev/cmd/berth/internal/format"
)

// eventRow is one event as `events --format json` prints it.
type eventRow struct {
	Timestamp time.Time `json:"timestamp"`
	Node      string    `json:"node,omitempty"`
	Namespace string    `json:"namespace"`
	Topic     string    `json:"topic"`
	Event     any       `json:"event,omitempty"`
}

func newEvents(g *globals) *cobra.Command {
	var filters []string
	var out outputFlags
	var bf busFlags
	c := &cobra.Command{
		Use:   "events [flags]",
		Short: "Print the node's events as they happen",
		Long: `Print events from the node's events service until interrupted. Filters use
containerd's syntax and several are OR-ed, e.g.
  berth events --filter 'topic~="/tasks/"' --filter 'namespace==default'

With --all-nodes (or --node) the events are read from the event bus itself
rather than the node socket: every node's events on the NATS cluster of
--nats-url, or this node's embedded server when it is empty. Each line then
names its node; the filters also take node==<id>. Reading the embedded
server needs root (its credentials are under the state dir).`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if bf.fromBus() {
				return g.busEvents(c.Context(), bf, filters, out)
			}
			client, ctx, err := g.connect(c.Context())
			if err != nil {
				return err
			}
			defer client.Close()
			evs, errs := client.EventService().Subscribe(ctx, filters...)
			for {
				select {
				case e := <-evs:
					row := eventRow{Timestamp: e.Timestamp, Namespace: e.Namespace, Topic: e.Topic}
					if e.Event != nil {
						if v, err := typeurl.UnmarshalAny(e.Event); err == nil {
							row.Event = v
						}
					}
					if err := g.printEvent(row, out); err != nil {
						return err
					}
				case err := <-errs:
					if ctx.Err() != nil {
						return nil
					}
					return err
				}
			}
		},
	}
	c.Flags().StringArrayVar(&filters, "filter", nil, "containerd filter, e.g. topic==\"/tasks/exit\"")
	c.Flags().StringVar(&out.format, "format", "table", "table or json (one JSON object per line)")
	c.Flags().BoolVar(&bf.allNodes, "all-nodes", false, "read every node's events from the event bus")
	c.Flags().StringVar(&bf.node, "node", "", "read this node's events from the event bus")
	c.Flags().StringVar(&bf.url, "nats-url", envOr("BERTH_NATS_URL", ""), "NATS server(s) of the fleet, comma separated; empty: this node's embedded server")
	c.Flags().StringVar(&bf.creds, "nats-creds", envOr("BERTH_NATS_CREDS", ""), "credentials for --nats-url: a .creds or nkey seed file, or a directory holding admin.creds or admin.nk")
	c.Flags().StringVar(&bf.domain, "js-domain", "", "JetStream domain holding the streams (a leaf node's hub, e.g. hub)")
	c.MarkFlagsMutuallyExclusive("all-nodes", "node")
	return c
}

// printEvent prints one event as a line of the table or a JSON object.
func (g *globals) printEvent(row eventRow, out outputFlags) error {
	if out.format == "json" {
		return format.JSONLines(g.stdout, []eventRow{row})
	}
	body := ""
	if row.Event != nil {
		body = fmt.Sprintf("%v", row.Event)
	}
	where := row.Namespace
	if row.Node != "" {
		where = row.Node + " " + row.Namespace
	}
	_, err := fmt.Fprintf(g.stdout, "%s %s %s %s\n", row.Timestamp.Format(time.RFC3339Nano), where, row.Topic, body)
	return err
}
