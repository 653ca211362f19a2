//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"

	"berth.dev/test/e2e/harness"
)

// TestContainerdGoClient drives Berth with containerd's own Go client:
// pull, unpack, run with output, events, leases, namespaces.
func TestContainerdGoClient(t *testing.T) {
	st := harness.Start(t)
	reg := harness.Registry(t)
	ref := reg + "/goclient/busybox:1"
	harness.Push(t, ref, harness.BusyboxImage(t))

	client, err := containerd.New(st.Socket, containerd.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), "goclient"), 2*time.Minute)
	defer cancel()

	if serving, err := client.IsServing(ctx); err != nil || !serving {
		t.Fatalf("IsServing: %v %v", serving, err)
	}
	resolver := docker.NewResolver(docker.ResolverOptions{Hosts: docker.ConfigureDefaultRegistries(docker.WithPlainHTTP(docker.MatchAllHosts))})
	img, err := client.Pull(ctx, ref, containerd.WithPullUnpack, containerd.WithResolver(resolver))
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	if ok, err := img.IsUnpacked(ctx, "overlayfs"); err != nil || !ok {
		t.Fatalf("unpacked: %v %v", ok, err)
	}
	evs, errs := client.Subscribe(ctx, `topic=="/tasks/exit"`)

	container, err := client.NewContainer(ctx, "gc1",
		containerd.WithNewSnapshot("gc1-snap", img),
		containerd.WithNewSpec(oci.WithImageConfig(img), oci.WithProcessArgs("sh", "-c", "echo from-go-client; exit 3")))
	if err != nil {
		t.Fatalf("new container: %v", err)
	}
	defer container.Delete(ctx, containerd.WithSnapshotCleanup)
	// Separate buffers: the client copies stdout and stderr concurrently, and
	// a bytes.Buffer is not safe for that.
	var out, errOut bytes.Buffer
	task, err := container.NewTask(ctx, cio.NewCreator(cio.WithStreams(nil, &out, &errOut)))
	if err != nil {
		t.Fatalf("new task: %v", err)
	}
	exitCh, err := task.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatal(err)
	}
	status := <-exitCh
	if code, _, _ := status.Result(); code != 3 {
		t.Fatalf("exit code %d", code)
	}
	if _, err := task.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "from-go-client") {
		t.Fatalf("output %q, error output %q", out.String(), errOut.String())
	}
	select {
	case e := <-evs:
		if e.Namespace != "goclient" {
			t.Fatalf("exit event in namespace %q", e.Namespace)
		}
	case err := <-errs:
		t.Fatal(err)
	case <-time.After(20 * time.Second):
		t.Fatal("no /tasks/exit event")
	}

	// A long-running task killed through the client.
	c2, err := client.NewContainer(ctx, "gc2", containerd.WithNewSnapshot("gc2-snap", img),
		containerd.WithNewSpec(oci.WithImageConfig(img), oci.WithProcessArgs("sleep", "1000")))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Delete(ctx, containerd.WithSnapshotCleanup)
	// The client lists through Containers.ListStream, which the gateway
	// unpacks from taskd's batches.
	if cs, err := client.Containers(ctx); err != nil || len(cs) != 2 || cs[0].ID() != "gc1" || cs[1].ID() != "gc2" {
		t.Fatalf("containers %v: %v", cs, err)
	}
	if cs, err := client.Containers(ctx, "id==gc2"); err != nil || len(cs) != 1 || cs[0].ID() != "gc2" {
		t.Fatalf("containers with id==gc2 %v: %v", cs, err)
	} else if info, err := cs[0].Info(ctx); err != nil || info.SnapshotKey != "gc2-snap" || info.Runtime.Name == "" {
		t.Fatalf("listed gc2 %+v: %v", info, err)
	}
	if cs, err := client.Containers(namespaces.WithNamespace(ctx, "goclient-none")); err != nil || len(cs) != 0 {
		t.Fatalf("containers of another namespace %v: %v", cs, err)
	}
	if _, err := client.Containers(ctx, "id=="); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("containers with a bad filter: %v", err)
	}
	t2, err := c2.NewTask(ctx, cio.NullIO)
	if err != nil {
		t.Fatal(err)
	}
	wait2, _ := t2.Wait(ctx)
	if err := t2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if pids, err := t2.Pids(ctx); err != nil || len(pids) == 0 {
		t.Fatalf("pids: %v %v", pids, err)
	}
	if err := t2.Kill(ctx, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-wait2
	if _, err := t2.Delete(ctx); err != nil {
		t.Fatal(err)
	}

	leases, err := client.LeasesService().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(leases) != 0 {
		t.Fatalf("leases left after the client's work: %v", leases)
	}
	nss, err := client.NamespaceService().List(ctx)
	if err != nil || !contains(nss, "goclient") {
		t.Fatalf("namespaces %v %v", nss, err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
