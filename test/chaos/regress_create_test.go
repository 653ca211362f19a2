//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fixedIO hands a task the stdio paths it is given and does nothing with
// them: a client that named its fifos and went away.
type fixedIO struct{ cfg cio.Config }

func (f fixedIO) Config() cio.Config { return f.cfg }
func (fixedIO) Cancel()              {}
func (fixedIO) Wait()                {}
func (fixedIO) Close() error         { return nil }

// TestAbandonedCreateLeavesNothing creates tasks whose creation cannot
// finish (the shim opening a stdout fifo nobody reads any more, as when a
// client gives up between creating its fifos and the shim opening them; a
// createRuntime hook that never returns) with a caller whose deadline
// ends first: once it did, no shim, mount, runtime state, task directory
// or process the create started may stay, and the container must be
// deletable. A create that went on for ever left them all, with no task
// listed and its container refused as "has a task".
func TestAbandonedCreateLeavesNothing(t *testing.T) {
	st, client, img, ctx := small(t)
	fifo := filepath.Join(t.TempDir(), "stdout")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// The hook's argument is the test's own, so that its process is told
	// from others'.
	hookArg := fmt.Sprintf("600.%d", time.Now().UnixNano()%1000000)
	stuckHook := func(_ context.Context, _ oci.Client, _ *containers.Container, s *specs.Spec) error {
		s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/sleep", Args: []string{"sleep", hookArg}}}}
		return nil
	}
	hooks := func() []int {
		return procsWith(func(args []string) bool { return len(args) == 2 && args[1] == hookArg })
	}
	t.Cleanup(func() {
		for _, pid := range hooks() {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	r := &run{t: t, st: st, client: client}
	for _, c := range []struct {
		id   string
		opts []oci.SpecOpts
		io   cio.Creator
	}{
		{"unread-fifo", nil, func(string) (cio.IO, error) { return fixedIO{cio.Config{Stdout: fifo}}, nil }},
		{"stuck-hook", []oci.SpecOpts{stuckHook}, cio.NullIO},
	} {
		ctr, err := client.NewContainer(ctx, c.id, containerd.WithNewSnapshot(c.id+"-snap", img),
			containerd.WithNewSpec(append([]oci.SpecOpts{oci.WithImageConfig(img), oci.WithProcessArgs("true")}, c.opts...)...))
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		_, err = ctr.NewTask(cctx, c.io)
		cancel()
		if err == nil {
			t.Fatalf("%s: a task whose creation cannot finish was created", c.id)
		}
		var leaks []string
		deleted := false
		if !settles(20*time.Second, 200*time.Millisecond, func() bool {
			leaks = r.leaks()
			if pids := hooks(); len(pids) > 0 {
				leaks = append(leaks, fmt.Sprintf("hook processes %v", pids))
			}
			if !deleted {
				err = ctr.Delete(ctx, containerd.WithSnapshotCleanup)
				deleted = err == nil
			}
			return len(leaks) == 0 && deleted
		}) {
			t.Fatalf("%s: 20s after its caller gave up on the create: leaks %v; container delete: %v", c.id, leaks, err)
		}
	}
}
