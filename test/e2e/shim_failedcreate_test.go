//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tasksapi "github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/api/types"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth.dev/test/e2e/harness"
)

// leftovers describes what failed task creations of stack st left behind in
// namespace ns: shim processes, mounts, task directories, shim sockets and
// runtime state.
func leftovers(t *testing.T, st *harness.Stack, ns string) string {
	t.Helper()
	var left []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), "berth-shim") && strings.Contains(string(b), st.State) {
			left = append(left, "shim "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) > 4 && strings.HasPrefix(fs[4], st.State) {
			left = append(left, "mount "+fs[4])
		}
	}
	for _, pattern := range []string{
		filepath.Join(st.State, "shims", ns, "*"),
		filepath.Join(st.State, "s", "*"),
		filepath.Join(st.State, "runc", ns, "*"),
		filepath.Join(st.State, "crun", ns, "*"),
	} {
		m, _ := filepath.Glob(pattern)
		left = append(left, m...)
	}
	return strings.Join(left, "\n")
}

// TestShimFailedCreateLeavesNothing makes task creation fail in each way it
// can (the runtime refuses the spec, the process cannot be executed, a bad stdio
// URI refused by taskd or failing in the shim, a rootfs that cannot be
// mounted) and checks that no shim, mount, directory, socket or runtime state
// stays behind.
func TestShimFailedCreateLeavesNothing(t *testing.T) {
	st := harness.Start(t)
	ns := "fc-" + randomHex(t, 6)
	importBusyboxIn(t, st, ns, image)
	client, ctx := goClient(t, st, ns)
	check := func(what string, err error, wantMsg string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), wantMsg) {
			t.Fatalf("%s: error %v, want one saying %q", what, err, wantMsg)
		}
		if left := leftovers(t, st, ns); left != "" {
			t.Fatalf("%s left behind:\n%s", what, left)
		}
	}

	_, err := st.Ctr(t, "-n", ns, "run", "--rm", image, "fc1", "/no/such/binary")
	check("a process that cannot be executed", err, "/no/such/binary")

	c := newBusyboxContainer(t, ctx, client, "fc2",
		oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: "/nonexistent/berth-netns"}))
	_, err = c.NewTask(ctx, withURIs("", "", false))
	check("a spec the runtime refuses", err, "/nonexistent/berth-netns")

	c3 := newBusyboxContainer(t, ctx, client, "fc3", oci.WithProcessArgs("true"))
	_, err = c3.NewTask(ctx, withURIs("", "tcp://127.0.0.1:1", false))
	if !errdefs.IsInvalidArgument(err) {
		t.Fatalf("unsupported stdio URI: %v, want invalid argument", err)
	}
	check("an unsupported stdio URI", err, "unsupported stdio URI")
	_, err = c3.NewTask(ctx, withURIs("", "crilog:///proc/berth-no-such-dir/0.log", false))
	check("a log the shim cannot create", err, "log")

	_, err = client.NewContainer(ctx, "fc4", containerd.WithNewSpec(oci.WithProcessArgs("true")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.ContainerService().Delete(context.Background(), "fc4") })
	_, err = client.TaskService().Create(ctx, &tasksapi.CreateTaskRequest{ContainerID: "fc4",
		Rootfs: []*types.Mount{{Type: "overlay", Source: "overlay", Options: []string{"lowerdir=/no-such-berth-layer"}}}})
	check("a rootfs that cannot be mounted", err, "mount")

	// The container is still usable once the cause is gone.
	task, exited := startTask(t, ctx, c3, withURIs("", "", false))
	if code := waitExit(t, exited); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if _, err := task.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	// A deleted task's shim exits right after answering.
	waitFor(t, 10*time.Second, func() error {
		if left := leftovers(t, st, ns); left != "" {
			return fmt.Errorf("a deleted task left behind:\n%s", left)
		}
		return nil
	})
}
