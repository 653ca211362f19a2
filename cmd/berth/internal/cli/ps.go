package cli

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	gocni "github.com/containerd/go-cni"
	"github.com/spf13/cobra"

	"berth.dev/cmd/berth/internal/format"
	"berth.dev/cmd/berth/internal/network"
)

// psRow is one container as `ps --format json` prints it.
type psRow struct {
	ID        string            `json:"id"`
	Image     string            `json:"image"`
	Command   string            `json:"command"`
	CreatedAt time.Time         `json:"createdAt"`
	State     state             `json:"state"`
	Ports     string            `json:"ports"`
	Labels    map[string]string `json:"labels"`
}

func newPs(g *globals) *cobra.Command {
	var all bool
	var out outputFlags
	c := &cobra.Command{
		Use:     "ps [flags]",
		Aliases: []string{"ls"},
		Short:   "List running containers (-a: all)",
		Args:    cobra.NoArgs,
		RunE: g.withClient(func(ctx context.Context, client *containerd.Client, _ []string) error {
			cs, err := client.Containers(ctx)
			if err != nil {
				return err
			}
			var rows []psRow
			for _, ct := range cs {
				info, err := ct.Info(ctx)
				if err != nil {
					continue
				}
				st, err := stateOf(ctx, ct, info.Labels)
				if err != nil {
					st = state{Status: "unknown"}
				}
				if !all && st.Status != "running" && st.Status != "paused" {
					continue
				}
				row := psRow{ID: ct.ID(), Image: info.Image, CreatedAt: info.CreatedAt, State: st, Labels: info.Labels}
				if spec, err := ct.Spec(ctx); err == nil && spec.Process != nil {
					row.Command = strings.Join(spec.Process.Args, " ")
				}
				var ports []gocni.PortMapping
				if json.Unmarshal([]byte(info.Labels[labelPorts]), &ports) == nil {
					row.Ports = network.FormatPorts(ports)
				}
				rows = append(rows, row)
			}
			sort.Slice(rows, func(i, j int) bool { return rows[i].CreatedAt.After(rows[j].CreatedAt) })
			return printRows(&out, g, rows, func(r psRow) string { return r.ID }, func(t *format.Table) {
				now := time.Now()
				for _, r := range rows {
					t.Row(format.Truncate(r.ID, 12), format.Truncate(r.Image, 30), `"`+format.Truncate(r.Command, 20)+`"`,
						format.Ago(r.CreatedAt, now), r.State.describe(r.CreatedAt, now), r.Ports, r.ID)
				}
			}, "CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES")
		}),
	}
	c.Flags().BoolVarP(&all, "all", "a", false, "list stopped containers too")
	out.add(c, "container names")
	return c
}
