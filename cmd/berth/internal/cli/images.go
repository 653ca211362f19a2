package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/spf13/cobra"

	"berth.dev/cmd/berth/internal/format"
)

func newImages(g *globals) *cobra.Command {
	ls := newImagesLs(g)
	c := &cobra.Command{
		Use:     "images",
		Aliases: []string{"image"},
		Short:   "List and manage images (berth images ls|rm|tag|inspect|import|export|prune)",
		Args:    cobra.NoArgs,
		RunE:    ls.RunE,
	}
	c.Flags().AddFlagSet(ls.Flags())
	c.AddCommand(ls, newImagesRm(g), newImagesTag(g), newImagesInspect(g), newImportCmd(g), newExportCmd(g), newImagesPrune(g))
	return c
}

// imageRow is one image as `images ls --format json` prints it.
type imageRow struct {
	Name       string    `json:"name"`
	Repository string    `json:"repository"`
	Tag        string    `json:"tag"`
	Digest     string    `json:"digest"`
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"createdAt"`
	Size       int64     `json:"size"`
}

func splitName(name string) (repo, tag string) {
	ref, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return name, ""
	}
	repo = ref.Name()
	if t, ok := ref.(reference.Tagged); ok {
		tag = t.Tag()
	} else if d, ok := ref.(reference.Digested); ok {
		tag = "@" + d.Digest().Encoded()[:12]
	}
	return repo, tag
}

func newImagesLs(g *globals) *cobra.Command {
	var out outputFlags
	c := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List images",
		Args:    cobra.NoArgs,
		RunE: g.withClient(func(ctx context.Context, client *containerd.Client, _ []string) error {
			imgs, err := client.ImageService().List(ctx)
			if err != nil {
				return err
			}
			sort.Slice(imgs, func(i, j int) bool { return imgs[i].Name < imgs[j].Name })
			rows := make([]imageRow, 0, len(imgs))
			for _, i := range imgs {
				var size int64
				if !out.quiet || out.format == "json" {
					size, _ = containerd.NewImage(client, i).Size(ctx)
				}
				repo, tag := splitName(i.Name)
				rows = append(rows, imageRow{Name: i.Name, Repository: repo, Tag: tag, Digest: i.Target.Digest.String(),
					ID: shortDigest(i.Target.Digest.String()), CreatedAt: i.CreatedAt, Size: size})
			}
			return printRows(&out, g, rows, func(r imageRow) string { return r.Name }, func(t *format.Table) {
				now := time.Now()
				for _, r := range rows {
					t.Row(r.Repository, r.Tag, r.ID, format.Ago(r.CreatedAt, now), format.Size(r.Size))
				}
			}, "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE")
		}),
	}
	out.add(c, "image names")
	return c
}

func shortDigest(d string) string {
	_, hex, _ := strings.Cut(d, ":")
	if len(hex) > 12 {
		return hex[:12]
	}
	return hex
}

func newImagesRm(g *globals) *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:     "rm [flags] IMAGE...",
		Aliases: []string{"remove", "rmi"},
		Short:   "Remove images",
		Args:    cobra.MinimumNArgs(1),
		RunE: g.withClient(func(ctx context.Context, client *containerd.Client, args []string) error {
			var failed []string
			for _, ref := range args {
				if err := removeImage(ctx, client, ref, force); err != nil {
					fmt.Fprintf(g.stderr, "berth: %s\n", explain(err))
					failed = append(failed, ref)
					continue
				}
				fmt.Fprintln(g.stdout, ref)
			}
			if len(failed) > 0 {
				return exitStatus{1}
			}
			return nil
		}),
	}
	c.Flags().BoolVarP(&force, "force", "f", false, "remove even when a container uses it")
	return c
}

func removeImage(ctx context.Context, client *containerd.Client, ref string, force bool) error {
	img, err := getImage(ctx, client, ref)
	if err != nil {
		return err
	}
	if !force {
		users, err := containersUsing(ctx, client, img.Name())
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return problem(errdefs.ErrFailedPrecondition, "image %s is used by container %s: remove the container first (berth rm) or use --force", img.Name(), strings.Join(users, ", "))
		}
	}
	return client.ImageService().Delete(ctx, img.Name(), images.SynchronousDelete())
}

func containersUsing(ctx context.Context, client *containerd.Client, name string) ([]string, error) {
	cs, err := client.ContainerService().List(ctx, fmt.Sprintf("image==%q", name))
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids, nil
}

func newImagesTag(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "tag SOURCE TARGET",
		Short: "Give an image another name",
		Args:  cobra.ExactArgs(2),
		RunE: g.withClient(func(ctx context.Context, client *containerd.Client, args []string) error {
			src, err := getImage(ctx, client, args[0])
			if err != nil {
				return err
			}
			rec := src.Metadata()
			rec.Name = normalize(args[1])
			svc := client.ImageService()
			if _, err := svc.Create(ctx, rec); errdefs.IsAlreadyExists(err) {
				_, err = svc.Update(ctx, rec, "target")
				return err
			} else if err != nil {
				return err
			}
			return nil
		}),
	}
}

func newImagesInspect(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect IMAGE...",
		Short: "Show images' records and configurations as JSON",
		Args:  cobra.MinimumNArgs(1),
		RunE: g.withClient(func(ctx context.Context, client *containerd.Client, args []string) error {
			var out []any
			for _, ref := range args {
				img, err := getImage(ctx, client, ref)
				if err != nil {
					return err
				}
				md := img.Metadata()
				entry := map[string]any{"name": md.Name, "target": md.Target, "labels": md.Labels,
					"createdAt": md.CreatedAt, "updatedAt": md.UpdatedAt}
				if spec, err := img.Spec(ctx); err == nil {
					entry["config"] = spec
				}
				if size, err := img.Size(ctx); err == nil {
					entry["size"] = size
				}
				out = append(out, entry)
			}
			return format.JSON(g.stdout, out)
		}),
	}
}

func newImagesPrune(g *globals) *cobra.Command {
	var all bool
	c := &cobra.Command{
		Use:   "prune [flags]",
		Short: "Remove images that no container uses",
		Long: `Remove images that no container uses. Berth keeps no untagged ("dangling")
images, so without --all nothing is removed; --all removes every image that
no container, running or not, refers to.`,
		Args: cobra.NoArgs,
		RunE: g.withClient(func(ctx context.Context, client *containerd.Client, _ []string) error {
			if !all {
				fmt.Fprintln(g.stdout, "Total reclaimed space: 0B (use --all to remove every unused image)")
				return nil
			}
			imgs, err := client.ImageService().List(ctx)
			if err != nil {
				return err
			}
			var reclaimed int64
			for _, i := range imgs {
				users, err := containersUsing(ctx, client, i.Name)
				if err != nil || len(users) > 0 {
					continue
				}
				size, _ := containerd.NewImage(client, i).Size(ctx)
				if err := client.ImageService().Delete(ctx, i.Name, images.SynchronousDelete()); err != nil {
					return err
				}
				reclaimed += size
				fmt.Fprintf(g.stdout, "deleted: %s\n", i.Name)
			}
			fmt.Fprintf(g.stdout, "Total reclaimed space: %s\n", format.Size(reclaimed))
			return nil
		}),
	}
	c.Flags().BoolVarP(&all, "all", "a", false, "remove every image no container uses")
	c.Flags().BoolP("force", "f", false, "do not ask (berth never asks)")
	return c
}
