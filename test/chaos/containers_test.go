//go:build chaos

package chaos

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth.dev/pkg/events"
)

// clientPull pulls and unpacks the runnable image with containerd's Go
// client under a lease of the load's own.
func (r *run) clientPull(ctx context.Context, ns string) (containerd.Image, error) {
	l, err := r.client.LeasesService().Create(ctx, leases.WithRandomID(), leases.WithExpiration(time.Hour))
	if err != nil {
		return nil, err
	}
	defer r.dropLease(ns, l, false)
	resolver := docker.NewResolver(docker.ResolverOptions{Hosts: docker.ConfigureDefaultRegistries(docker.WithPlainHTTP(docker.MatchAllHosts))})
	return r.client.Pull(leases.WithLease(ctx, l.ID), r.busybox, containerd.WithPullUnpack, containerd.WithResolver(resolver))
}

// image returns the runnable image in ns, pulling and unpacking it when
// needed.
func (r *run) image(ctx context.Context, ns string) (containerd.Image, error) {
	img, err := r.client.GetImage(ctx, r.busybox)
	if errdefs.IsNotFound(err) {
		return r.clientPull(ctx, ns)
	}
	if err != nil {
		return nil, err
	}
	if ok, err := img.IsUnpacked(ctx, "overlayfs"); err != nil || !ok {
		return r.clientPull(ctx, ns)
	}
	return img, nil
}

// safeBuffer is written by the client's copy goroutines while read here.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newContainer creates a container running args from the runnable image.
func (r *run) newContainer(ctx context.Context, ns, id string, args ...string) (containerd.Container, error) {
	img, err := r.image(ctx, ns)
	if err != nil {
		return nil, err
	}
	c, err := r.client.NewContainer(ctx, id, containerd.WithNewSnapshot(id+"-snap", img),
		containerd.WithNewSpec(oci.WithImageConfig(img), oci.WithProcessArgs(args...)))
	r.ledger.note(ns, events.TopicContainerCreate, id, "", err)
	return c, err
}

// runOnce runs a container that prints and exits, and removes it.
func (c *client) runOnce(ctx context.Context) error {
	id := c.newID("run")
	defer c.r.removeContainer(c.ns, id)
	ctr, err := c.r.newContainer(ctx, c.ns, id, "sh", "-c", "echo chaos-"+id)
	if err != nil {
		return err
	}
	var out, errOut safeBuffer
	task, exited, err := c.startTask(ctx, ctr, id, cio.NewCreator(cio.WithStreams(nil, &out, &errOut)))
	if err != nil {
		return err
	}
	if err := c.deleteExited(ctx, task, exited, id); err != nil {
		return err
	}
	if !strings.Contains(out.String(), "chaos-"+id) {
		return fmt.Errorf("container %s printed %q (stderr %q)", id, out.String(), errOut.String())
	}
	return nil
}

// startTask creates and starts ctr's task with the given IO, noting each
// step in the ledger (the exit as not yet seen), and returns the task with
// the channel its exit arrives on.
func (c *client) startTask(ctx context.Context, ctr containerd.Container, id string, io cio.Creator) (containerd.Task, <-chan containerd.ExitStatus, error) {
	task, err := ctr.NewTask(ctx, io)
	c.r.ledger.note(c.ns, events.TopicTaskCreate, id, "", err)
	if err != nil {
		return nil, nil, err
	}
	exited, err := task.Wait(ctx)
	if err != nil {
		return nil, nil, err
	}
	err = task.Start(ctx)
	c.r.ledger.note(c.ns, events.TopicTaskStart, id, "", err)
	c.r.ledger.note(c.ns, events.TopicTaskExit, id, "", fmt.Errorf("not yet seen"))
	if err != nil {
		return nil, nil, err
	}
	return task, exited, nil
}

// execKill starts a long-running container, execs into it, kills it and
// removes it.
func (c *client) execKill(ctx context.Context) error {
	id := c.newID("exec")
	defer c.r.removeContainer(c.ns, id)
	ctr, err := c.r.newContainer(ctx, c.ns, id, "sleep", "600")
	if err != nil {
		return err
	}
	task, exited, err := c.startTask(ctx, ctr, id, cio.NullIO)
	if err != nil {
		return err
	}
	if err := c.r.exec(ctx, c.ns, task, id, c.newID("x")); err != nil {
		return err
	}
	if err := task.Kill(ctx, syscall.SIGKILL); err != nil {
		return err
	}
	return c.deleteExited(ctx, task, exited, id)
}

// deleteExited waits for task's exit and deletes it, noting both in the
// ledger.
func (c *client) deleteExited(ctx context.Context, task containerd.Task, exited <-chan containerd.ExitStatus, id string) error {
	select {
	case st := <-exited:
		if _, _, err := st.Result(); err != nil {
			return err
		}
		c.r.ledger.note(c.ns, events.TopicTaskExit, id, "", nil)
	case <-ctx.Done():
		return ctx.Err()
	}
	_, err := task.Delete(ctx)
	c.r.ledger.note(c.ns, events.TopicTaskDelete, id, "", err)
	return err
}

// exec runs a process in a running task and checks its output.
func (r *run) exec(ctx context.Context, ns string, task containerd.Task, id, execID string) error {
	spec, err := task.Spec(ctx)
	if err != nil {
		return err
	}
	ps := *spec.Process
	ps.Args = []string{"sh", "-c", "echo exec-" + execID}
	var out, errOut safeBuffer
	proc, err := task.Exec(ctx, execID, &ps, cio.NewCreator(cio.WithStreams(nil, &out, &errOut)))
	r.ledger.note(ns, events.TopicTaskExecAdded, id, execID, err)
	if err != nil {
		return err
	}
	// An exec's deletion is no /tasks/delete, as in containerd.
	deleted := false
	defer func() {
		if !deleted {
			proc.Delete(context.WithoutCancel(ctx))
		}
	}()
	exited, err := proc.Wait(ctx)
	if err != nil {
		return err
	}
	err = proc.Start(ctx)
	r.ledger.note(ns, events.TopicTaskExecStarted, id, execID, err)
	if err != nil {
		return err
	}
	select {
	case st := <-exited:
		if _, _, err := st.Result(); err != nil {
			return err
		}
		r.ledger.note(ns, events.TopicTaskExit, id, execID, nil)
	case <-ctx.Done():
		return ctx.Err()
	}
	// Delete waits for the output to be copied.
	deleted = true
	if _, err := proc.Delete(ctx); err != nil {
		return err
	}
	if !strings.Contains(out.String(), "exec-"+execID) {
		return fmt.Errorf("exec %s in %s printed %q (stderr %q)", execID, id, out.String(), errOut.String())
	}
	return nil
}

// removeContainer kills and deletes a container's task, then the container
// and its snapshot, retrying while a daemon comes back; it tolerates a
// container that was never created.
func (r *run) removeContainer(ns, id string) error {
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), ns), 45*time.Second)
	defer cancel()
	var err error
	for {
		if err = r.removeOnce(ctx, ns, id); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			r.stats.op("remove", err)
			return err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (r *run) removeOnce(ctx context.Context, ns, id string) error {
	ctr, err := r.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	task, err := ctr.Task(ctx, nil)
	switch {
	case errdefs.IsNotFound(err):
	case err != nil:
		return err
	default:
		_, err = task.Delete(ctx, containerd.WithProcessKill)
		r.ledger.note(ns, events.TopicTaskDelete, id, "", err)
		if err != nil && !errdefs.IsNotFound(err) {
			return err
		}
	}
	err = ctr.Delete(ctx, containerd.WithSnapshotCleanup)
	if errdefs.IsNotFound(err) {
		// The container is gone but its snapshot may not be.
		err = r.client.SnapshotService("overlayfs").Remove(ctx, id+"-snap")
		if errdefs.IsNotFound(err) {
			err = nil
		}
		return err
	}
	r.ledger.note(ns, events.TopicContainerDelete, id, "", err)
	return err
}

// writeBlob writes data to the content store and returns its digest.
func writeBlob(ctx context.Context, cs content.Store, ref string, data []byte) (digest.Digest, error) {
	d := digest.FromBytes(data)
	return d, content.WriteBlob(ctx, cs, ref, bytes.NewReader(data), ocispec.Descriptor{Digest: d, Size: int64(len(data))})
}

// clientPullPlain pulls and unpacks the runnable image with containerd's Go
// client and nothing else of the run's.
func (r *run) clientPullPlain(ctx context.Context) (containerd.Image, error) {
	resolver := docker.NewResolver(docker.ResolverOptions{Hosts: docker.ConfigureDefaultRegistries(docker.WithPlainHTTP(docker.MatchAllHosts))})
	return r.client.Pull(ctx, r.busybox, containerd.WithPullUnpack, containerd.WithResolver(resolver))
}
