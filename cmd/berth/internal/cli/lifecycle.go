package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

// eachContainer runs fn for every named container, printing the name of
// each done and the error of each failed; any failure makes berth exit 1.
func eachContainer(c *cobra.Command, g *globals, ids []string, fn func(context.Context, *containerd.Client, containerd.Container) error) error {
	ctx := context.WithoutCancel(c.Context())
	client, ctx, err := g.connect(ctx)
	if err != nil {
		return err
	}
	defer client.Close()
	failed := false
	for _, id := range ids {
		ct, err := loadContainer(ctx, client, id)
		if err == nil {
			err = fn(ctx, client, ct)
		}
		if err != nil {
			if len(ids) == 1 {
				return err
			}
			fmt.Fprintf(g.stderr, "berth: %s\n", explain(err))
			failed = true
			continue
		}
		fmt.Fprintln(g.stdout, id)
	}
	if failed {
		return exitStatus{1}
	}
	return nil
}

func newStart(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "start CONTAINER...",
		Short: "Start stopped containers in the background",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return eachContainer(c, g, args, func(ctx context.Context, _ *containerd.Client, ct containerd.Container) error {
				st, err := stateOf(ctx, ct, nil)
				if err != nil {
					return err
				}
				if st.Status == "running" {
					return nil
				}
				if task, err := ct.Task(ctx, nil); err == nil {
					if _, err := task.Delete(ctx); err != nil {
						return err
					}
				}
				labels, err := ct.Labels(ctx)
				if err != nil {
					return err
				}
				if labels[labelLogPath] == "" {
					labels, err = ct.SetLabels(ctx, map[string]string{labelLogPath: logPath(g.namespace, ct.ID())})
					if err != nil {
						return err
					}
				}
				return startDetached(ctx, g, ct)
			})
		},
	}
}

// stopTask signals the task, waits up to timeout, then kills it, and
// deletes it keeping its exit on the container's labels.
func stopTask(ctx context.Context, ct containerd.Container, sig syscall.Signal, timeout time.Duration) error {
	task, err := ct.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	st, err := task.Status(ctx)
	if err != nil {
		return err
	}
	if st.Status != containerd.Stopped {
		wait, err := task.Wait(ctx)
		if err != nil {
			return err
		}
		if err := task.Kill(ctx, sig); err != nil && !errdefs.IsNotFound(err) {
			return err
		}
		select {
		case <-wait:
		case <-time.After(timeout):
			if err := task.Kill(ctx, syscall.SIGKILL, containerd.WithKillAll); err != nil && !errdefs.IsNotFound(err) {
				return err
			}
			<-wait
		}
	}
	status, err := task.Delete(ctx)
	if err != nil {
		return err
	}
	recordExit(ctx, ct, int(status.ExitCode()), status.ExitTime())
	return nil
}

func newStop(g *globals) *cobra.Command {
	var timeout int
	c := &cobra.Command{
		Use:   "stop [flags] CONTAINER...",
		Short: "Stop containers: SIGTERM, then SIGKILL after --time seconds",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return eachContainer(c, g, args, func(ctx context.Context, _ *containerd.Client, ct containerd.Container) error {
				return stopTask(ctx, ct, syscall.SIGTERM, time.Duration(timeout)*time.Second)
			})
		},
	}
	c.Flags().IntVarP(&timeout, "time", "t", 10, "seconds to wait before killing")
	return c
}

// parseSignal reads KILL, SIGKILL, 9.
func parseSignal(s string) (syscall.Signal, error) {
	if v, err := strconv.Atoi(s); err == nil {
		if v > 0 && v < 65 {
			return syscall.Signal(v), nil
		}
		return 0, invalid("signal %q", s)
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, invalid("signal %q", s)
}

func newKill(g *globals) *cobra.Command {
	var sigName string
	c := &cobra.Command{
		Use:   "kill [flags] CONTAINER...",
		Short: "Send a signal to containers (default KILL)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			sig, err := parseSignal(sigName)
			if err != nil {
				return err
			}
			return eachContainer(c, g, args, func(ctx context.Context, _ *containerd.Client, ct containerd.Container) error {
				task, err := ct.Task(ctx, nil)
				if errdefs.IsNotFound(err) {
					return problem(errdefs.ErrFailedPrecondition, "container %s is not running", ct.ID())
				}
				if err != nil {
					return err
				}
				return task.Kill(ctx, sig)
			})
		},
	}
	c.Flags().StringVarP(&sigName, "signal", "s", "KILL", "signal name or number")
	return c
}

func newRm(g *globals) *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:     "rm [flags] CONTAINER...",
		Aliases: []string{"remove"},
		Short:   "Remove containers (-f: also running ones)",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return eachContainer(c, g, args, func(ctx context.Context, client *containerd.Client, ct containerd.Container) error {
				return removeContainer(ctx, g, client, ct, force)
			})
		},
	}
	c.Flags().BoolVarP(&force, "force", "f", false, "kill a running container first")
	return c
}

// removeContainer deletes a container with its task, snapshot, network
// and log.
func removeContainer(ctx context.Context, g *globals, _ *containerd.Client, ct containerd.Container, force bool) error {
	labels, err := ct.Labels(ctx)
	if err != nil {
		return err
	}
	if task, err := ct.Task(ctx, nil); err == nil {
		st, err := task.Status(ctx)
		if err != nil {
			return err
		}
		if st.Status != containerd.Stopped && !force {
			return problem(errdefs.ErrFailedPrecondition, "container %s is running: stop it first (berth stop %s) or use rm -f", ct.ID(), ct.ID())
		}
		if _, err := task.Delete(ctx, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			return err
		}
	} else if !errdefs.IsNotFound(err) {
		return err
	}
	var errs []error
	if n, err := netFromLabels(g, ct.ID(), labels); err != nil {
		errs = append(errs, err)
	} else if err := n.teardown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("network of %s: %w", ct.ID(), err))
	}
	if err := ct.Delete(ctx, containerd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		errs = append(errs, err)
	}
	if p := labels[labelLogPath]; p != "" {
		os.Remove(p)
	}
	return errors.Join(errs...)
}
