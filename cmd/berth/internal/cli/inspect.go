package cli

import (
	"context"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/spf13/cobra"

	"berth.dev/cmd/berth/internal/format"
)

func newInspect(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect CONTAINER...",
		Short: "Show containers' records, state and OCI spec as JSON",
		Args:  cobra.MinimumNArgs(1),
		RunE: g.withClient(func(ctx context.Context, client *containerd.Client, args []string) error {
			var out []any
			for _, id := range args {
				ct, err := loadContainer(ctx, client, id)
				if err != nil {
					return err
				}
				info, err := ct.Info(ctx)
				if err != nil {
					return err
				}
				st, err := stateOf(ctx, ct, info.Labels)
				if err != nil {
					return err
				}
				spec, _ := ct.Spec(ctx)
				out = append(out, map[string]any{
					"id": info.ID, "image": info.Image, "labels": info.Labels, "snapshotter": info.Snapshotter,
					"snapshotKey": info.SnapshotKey, "runtime": info.Runtime.Name, "createdAt": info.CreatedAt,
					"updatedAt": info.UpdatedAt, "state": st, "restartPolicy": info.Labels[labelRestart],
					"logPath": info.Labels[labelLogPath], "network": map[string]string{"mode": info.Labels[labelNet],
						"netns": info.Labels[labelNetns], "ip": info.Labels[labelIP], "ports": info.Labels[labelPorts]},
					"spec": spec,
				})
			}
			return format.JSON(g.stdout, out)
		}),
	}
}
