//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"

	"berth.dev/test/e2e/harness"
)

// BenchmarkTaskLifecycle runs `true` in a new container per iteration
// with containerd's Go client, as `ctr run --rm` does, and reports the
// median of each step: container create (snapshot prepare and record),
// task create (bundle, rootfs mount, shim, runtime create), start, the
// wait for the exit, task delete and container delete (with its
// snapshot). The runtime is taskd's default unless BERTH_E2E_RUNTIME names
// one.
func BenchmarkTaskLifecycle(b *testing.B) {
	st := harness.Start(b)
	tar := filepath.Join(b.TempDir(), "busybox.tar")
	harness.DockerArchive(b, tar, image, harness.BusyboxImage(b))
	if out, err := st.Ctr(b, "-n", "bench", "images", "import", tar); err != nil {
		b.Fatalf("import: %v\n%s", err, out)
	}
	client, err := containerd.New(st.Socket, containerd.WithTimeout(10*time.Second))
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	ctx := namespaces.WithNamespace(context.Background(), "bench")
	img, err := client.GetImage(ctx, image)
	if err != nil {
		b.Fatal(err)
	}
	steps := []string{"container-create", "task-create", "start", "wait", "task-delete", "container-delete"}
	took := map[string][]time.Duration{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("bench-%d", i)
		at := time.Now()
		lap := func(step string) {
			now := time.Now()
			took[step] = append(took[step], now.Sub(at))
			at = now
		}
		c, err := client.NewContainer(ctx, id, containerd.WithNewSnapshot(id, img),
			containerd.WithNewSpec(oci.WithImageConfig(img), oci.WithProcessArgs("true")))
		if err != nil {
			b.Fatal(err)
		}
		lap("container-create")
		task, err := c.NewTask(ctx, cio.NullIO)
		if err != nil {
			b.Fatal(err)
		}
		lap("task-create")
		exitCh, err := task.Wait(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if err := task.Start(ctx); err != nil {
			b.Fatal(err)
		}
		lap("start")
		status := <-exitCh
		if code, _, err := status.Result(); err != nil || code != 0 {
			b.Fatalf("exit %d: %v", code, err)
		}
		lap("wait")
		if _, err := task.Delete(ctx); err != nil {
			b.Fatal(err)
		}
		lap("task-delete")
		if err := c.Delete(ctx, containerd.WithSnapshotCleanup); err != nil {
			b.Fatal(err)
		}
		lap("container-delete")
	}
	b.StopTimer()
	for _, s := range steps {
		d := took[s]
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, s+"-ms")
	}
}
