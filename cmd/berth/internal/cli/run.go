package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"
)

func newRun(g *globals) *cobra.Command {
	f := &runFlags{}
	c := &cobra.Command{
		Use:   "run [flags] IMAGE [COMMAND [ARG...]]",
		Short: "Create and start a container from an image",
		Long: `Create a container from an image and start it. In the foreground (the
default) berth copies its output, passes stdin with -i, gives it a terminal
with -t, and exits with its exit code. With -d it runs in the background; its
output goes to a log file that 'berth logs' reads.

Networking: --net none (default: loopback only), host (the node's network),
bridge (CNI conflist named berth-bridge in $BERTH_CNI_CONF_DIR, default
/etc/cni/net.d, written there when missing; plugins from $BERTH_CNI_BIN_DIR,
default /opt/cni/bin:/usr/lib/cni), or the name of another conflist there.
-p maps host ports through the conflist's portmap plugin.

--restart is recorded on the container (label berth.dev/restart) and shown
by 'berth inspect'; no Berth daemon restarts containers yet, so the policy is
not acted on: restart one with 'berth start'.`,
		Example: `  berth run --rm busybox echo hello
  berth run -it --rm busybox sh
  berth run -d --name web --net bridge -p 8080:80 busybox httpd -f -p 80`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return run(c, g, f, args[0], args[1:])
		},
	}
	f.add(c)
	return c
}

func randomID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func run(c *cobra.Command, g *globals, f *runFlags, ref string, args []string) error {
	if f.detach && f.rm {
		return invalid("--rm with -d: berth removes a container when its foreground run ends; no daemon removes a detached one (use 'berth rm -f' later)")
	}
	restart, err := restartPolicy(f.restart)
	if err != nil {
		return err
	}
	// Signals go to the container, not to berth's own context.
	ctx := context.WithoutCancel(c.Context())
	client, ctx, err := g.connect(ctx)
	if err != nil {
		return err
	}
	defer client.Close()
	id := f.name
	if id == "" {
		id = randomID()[:12]
	}
	if _, err := client.LoadContainer(ctx, id); err == nil {
		return problem(errdefs.ErrAlreadyExists, "the container name %q is already in use in namespace %q: remove that container (berth rm -f %s) or choose another --name", id, g.namespace, id)
	}
	img, err := getImage(ctx, client, ref)
	if err != nil {
		return err
	}
	if ok, err := img.IsUnpacked(ctx, f.snapshotter); err == nil && !ok {
		g.debugf("unpacking %s into %s", img.Name(), f.snapshotter)
		if err := img.Unpack(ctx, f.snapshotter); err != nil {
			return fmt.Errorf("unpack %s: %w", img.Name(), err)
		}
	}
	labels := map[string]string{labelRestart: restart}
	if f.tty {
		labels[labelTTY] = "true"
	}
	net, err := setupNetwork(ctx, g, f, id, labels)
	if err != nil {
		return err
	}
	specOpts, err := specOptions(f, img, id, args, net)
	if err != nil {
		net.teardown(ctx)
		return err
	}
	if f.detach {
		labels[labelLogPath] = logPath(g.namespace, id)
	}
	container, err := client.NewContainer(ctx, id,
		containerd.WithImage(img),
		containerd.WithSnapshotter(f.snapshotter),
		containerd.WithNewSnapshot(id, img),
		containerd.WithNewSpec(specOpts...),
		containerd.WithContainerLabels(labels))
	if err != nil {
		net.teardown(ctx)
		if errdefs.IsAlreadyExists(err) {
			return fmt.Errorf("the container name %q is already in use (or a snapshot of that name is left over): %w", id, err)
		}
		return err
	}
	if f.detach {
		if err := startDetached(ctx, g, container); err != nil {
			removeContainer(ctx, g, client, container, true)
			return err
		}
		fmt.Fprintln(g.stdout, id)
		return nil
	}
	code, err := runForeground(ctx, g, container, f.tty, f.interactive)
	if f.rm {
		if rerr := removeContainer(ctx, g, client, container, true); rerr != nil && err == nil {
			err = rerr
		}
	} else if err != nil {
		// A container whose process could not start is of no use.
		removeContainer(ctx, g, client, container, true)
	}
	if err != nil {
		return err
	}
	if code != 0 {
		return exitStatus{code}
	}
	return nil
}

// logPath is where a detached container's output is kept.
func logPath(ns, id string) string {
	return filepath.Join(rootDir(), "cli", "logs", ns, id+".log")
}

// logIO sends the task's output to its log file in CRI format through the
// shim (crilog://), which keeps writing after berth exits.
func logIO(path string) (cio.Creator, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	return cio.LogURI(&url.URL{Scheme: "crilog", Path: path}), nil
}

func startDetached(ctx context.Context, g *globals, container containerd.Container) error {
	labels, err := container.Labels(ctx)
	if err != nil {
		return err
	}
	creator, err := logIO(labels[labelLogPath])
	if err != nil {
		return err
	}
	task, err := container.NewTask(ctx, creator)
	if err != nil && strings.Contains(err.Error(), "crilog:") {
		// A taskd without crilog:// support: run without a log.
		fmt.Fprintf(g.stderr, "berth: warning: this node does not record container logs (crilog:// unsupported); output is discarded\n")
		if _, lerr := container.SetLabels(ctx, map[string]string{labelLogPath: ""}); lerr != nil {
			return lerr
		}
		task, err = container.NewTask(ctx, cio.NullIO)
	}
	if err != nil {
		return startFailure{err}
	}
	if err := task.Start(ctx); err != nil {
		task.Delete(ctx, containerd.WithProcessKill)
		return startFailure{err}
	}
	recordStart(ctx, container)
	return nil
}
