//go:build e2e

package e2e

import (
	"context"
	"os/exec"
	"syscall"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"

	"berth.dev/test/e2e/harness"
)

// burnCPU keeps every core busy until the test ends (and at most five
// minutes, should the test binary die before its cleanup).
func burnCPU(t *testing.T, cores int) {
	for range cores {
		cmd := exec.Command("timeout", "300", "sh", "-c", "while :; do :; done")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
		})
	}
}

// goClient connects containerd's Go client to the stack in namespace ns.
func goClient(t *testing.T, st *harness.Stack, ns string) (*containerd.Client, context.Context) {
	t.Helper()
	client, err := containerd.New(st.Socket, containerd.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), ns), 5*time.Minute)
	t.Cleanup(cancel)
	return client, ctx
}

// newBusyboxContainer creates a container of the imported busybox image
// running args.
func newBusyboxContainer(t *testing.T, ctx context.Context, client *containerd.Client, id string, opts ...oci.SpecOpts) containerd.Container {
	t.Helper()
	img, err := client.GetImage(ctx, image)
	if err != nil {
		t.Fatal(err)
	}
	if err := img.Unpack(ctx, "overlayfs"); err != nil {
		t.Fatal(err)
	}
	c, err := client.NewContainer(ctx, id, containerd.WithNewSnapshot(id+"-snap", img),
		containerd.WithNewSpec(append([]oci.SpecOpts{oci.WithImageConfig(img)}, opts...)...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if task, err := c.Task(context.Background(), nil); err == nil {
			task.Kill(ctx, syscall.SIGKILL)
			task.Delete(ctx, containerd.WithProcessKill)
		}
		c.Delete(ctx, containerd.WithSnapshotCleanup)
	})
	return c
}

// TestShimListPidsUnderLoad lists a fresh task's pids right after Start,
// many times, while other processes keep both cores busy: the pids of a
// running task must come back every time.
func TestShimListPidsUnderLoad(t *testing.T) {
	st := runningStack(t)
	client, ctx := goClient(t, st, "default")
	c := newBusyboxContainer(t, ctx, client, "pids-"+randomHex(t, 6), oci.WithProcessArgs("sleep", "1000"))
	burnCPU(t, 2)
	const runs = 30
	for i := range runs {
		task, err := c.NewTask(ctx, cio.NullIO)
		if err != nil {
			t.Fatalf("run %d: create: %v", i, err)
		}
		exited, err := task.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := task.Start(ctx); err != nil {
			t.Fatalf("run %d: start: %v", i, err)
		}
		pids, err := task.Pids(ctx)
		if err != nil || len(pids) == 0 || pids[0].Pid == 0 {
			t.Fatalf("run %d: pids %v: %v", i, pids, err)
		}
		if err := task.Kill(ctx, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-exited
		if _, err := task.Delete(ctx); err != nil {
			t.Fatalf("run %d: delete: %v", i, err)
		}
	}
	t.Logf("%d runs listed their pids", runs)
}
