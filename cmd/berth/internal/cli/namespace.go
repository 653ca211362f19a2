package cli

import (
	"context"
	"fmt"
	"sort"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/spf13/cobra"

	"berth.dev/cmd/berth/internal/format"
)

func newNamespace(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:     "namespace",
		Aliases: []string{"namespaces", "ns"},
		Short:   "List, create and remove namespaces",
	}
	var out outputFlags
	ls := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List namespaces",
		Args:    cobra.NoArgs,
		RunE: g.withClient(func(ctx context.Context, client *containerd.Client, _ []string) error {
			names, err := client.NamespaceService().List(ctx)
			if err != nil {
				return err
			}
			sort.Strings(names)
			type row struct {
				Name   string            `json:"name"`
				Labels map[string]string `json:"labels"`
			}
			rows := make([]row, 0, len(names))
			for _, n := range names {
				labels, _ := client.NamespaceService().Labels(ctx, n)
				rows = append(rows, row{n, labels})
			}
			return printRows(&out, g, rows, func(r row) string { return r.Name }, func(t *format.Table) {
				for _, r := range rows {
					t.Row(r.Name, fmt.Sprint(len(r.Labels)))
				}
			}, "NAME", "LABELS")
		}),
	}
	out.add(ls, "names")
	create := &cobra.Command{
		Use:   "create NAME...",
		Short: "Create namespaces",
		Args:  cobra.MinimumNArgs(1),
		RunE: g.withClient(func(ctx context.Context, client *containerd.Client, args []string) error {
			for _, n := range args {
				if err := client.NamespaceService().Create(ctx, n, nil); err != nil {
					return err
				}
				fmt.Fprintln(g.stdout, n)
			}
			return nil
		}),
	}
	rm := &cobra.Command{
		Use:     "rm NAME...",
		Aliases: []string{"remove"},
		Short:   "Remove empty namespaces",
		Args:    cobra.MinimumNArgs(1),
		RunE: g.withClient(func(ctx context.Context, client *containerd.Client, args []string) error {
			for _, n := range args {
				if err := client.NamespaceService().Delete(ctx, n); err != nil {
					return fmt.Errorf("%w\nA namespace must be empty: remove its containers and images first (berth -n %s ps -a; berth -n %s images)", err, n, n)
				}
				fmt.Fprintln(g.stdout, n)
			}
			return nil
		}),
	}
	c.AddCommand(ls, create, rm)
	return c
}
