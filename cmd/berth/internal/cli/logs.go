package cli

import (
	"context"
	"errors"
	"os"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"

	"berth.dev/cmd/berth/internal/crilog"
)

func newLogs(g *globals) *cobra.Command {
	var follow, timestamps bool
	var tail int
	c := &cobra.Command{
		Use:   "logs [flags] CONTAINER",
		Short: "Print a detached container's output (-f follows it)",
		Long: `Print the output of a container started with 'berth run -d' or 'berth start',
kept by the node in the container's log file (label berth.dev/log-path, in
the Kubernetes CRI log format). stdout goes to stdout, stderr to stderr.
Foreground runs print their output directly and keep no log.`,
		Args: cobra.ExactArgs(1),
		RunE: g.withClient(func(ctx context.Context, client *containerd.Client, args []string) error {
			ct, err := loadContainer(ctx, client, args[0])
			if err != nil {
				return err
			}
			labels, err := ct.Labels(ctx)
			if err != nil {
				return err
			}
			path := labels[labelLogPath]
			if path == "" {
				return problem(errdefs.ErrNotFound, "container %s keeps no log: it ran in the foreground (berth run -d keeps one) or the node cannot record logs", ct.ID())
			}
			opts := crilog.Options{Tail: tail, Timestamps: timestamps, Stdout: g.stdout, Stderr: g.stderr, Follow: follow,
				Done: func() bool { return !running(ctx, ct) }}
			err = crilog.Copy(ctx, path, opts)
			if errors.Is(err, os.ErrNotExist) {
				return problem(errdefs.ErrNotFound, "container %s has no log yet at %s", ct.ID(), path)
			}
			return err
		}),
	}
	c.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new output until the container stops")
	c.Flags().BoolVarP(&timestamps, "timestamps", "t", false, "prefix each line with its time (RFC 3339)")
	c.Flags().IntVar(&tail, "tail", -1, "print only the last N lines (-1: all)")
	return c
}

func running(ctx context.Context, ct containerd.Container) bool {
	st, err := stateOf(ctx, ct, nil)
	return err == nil && (st.Status == "running" || st.Status == "paused" || st.Status == "created" && hasTask(ctx, ct))
}

func hasTask(ctx context.Context, ct containerd.Container) bool {
	_, err := ct.Task(ctx, nil)
	return err == nil
}
