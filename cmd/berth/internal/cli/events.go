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
	Namespace string    `json:"namespace"`
	Topic     string    `json:"topic"`
	Event     any       `json:"event,omitempty"`
}

func newEvents(g *globals) *cobra.Command {
	var filters []string
	var out outputFlags
	c := &cobra.Command{
		Use:   "events [flags]",
		Short: "Print the node's events as they happen",
		Long: `Print events from the node's events service until interrupted. Filters use
containerd's syntax and several are OR-ed, e.g.
  berth events --filter 'topic~="/tasks/"' --filter 'namespace==default'`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
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
					if out.format == "json" {
						if err := format.JSONLines(g.stdout, []eventRow{row}); err != nil {
							return err
						}
						continue
					}
					body := ""
					if row.Event != nil {
						body = fmt.Sprintf("%v", row.Event)
					}
					fmt.Fprintf(g.stdout, "%s %s %s %s\n", row.Timestamp.Format(time.RFC3339Nano), row.Namespace, row.Topic, body)
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
	return c
}
