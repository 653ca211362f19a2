//go:build e2e

package e2e

import (
	"context"
	"sort"
	"testing"
	"time"
)

// BenchmarkCRILifecycle times each kubelet call of a pod's life (a pod on
// a CNI bridge with one container) and reports the medians in ms, to set
// beside containerd's.
func BenchmarkCRILifecycle(b *testing.B) {
	net0 := newCRINet(b)
	s, rs := criStack(b, net0)
	importCRIBusybox(b, s)
	ctx := context.Background()
	steps := []string{"RunPodSandbox", "CreateContainer", "StartContainer", "StopContainer", "RemoveContainer", "StopPodSandbox", "RemovePodSandbox"}
	took := map[string][]time.Duration{}
	timed := func(step string, fn func() error) {
		start := time.Now()
		if err := fn(); err != nil {
			b.Fatalf("%s: %v", step, err)
		}
		took[step] = append(took[step], time.Since(start))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		podCfg := podConfig(b, "bench")
		var pod, ctr string
		timed("RunPodSandbox", func() (err error) { pod, err = rs.RunPodSandbox(ctx, podCfg, ""); return })
		timed("CreateContainer", func() (err error) {
			ctr, err = rs.CreateContainer(ctx, pod, containerConfig("c", "sleep", "600"), podCfg)
			return
		})
		timed("StartContainer", func() error { return rs.StartContainer(ctx, ctr) })
		timed("StopContainer", func() error { return rs.StopContainer(ctx, ctr, 0) })
		timed("RemoveContainer", func() error { return rs.RemoveContainer(ctx, ctr) })
		timed("StopPodSandbox", func() error { return rs.StopPodSandbox(ctx, pod) })
		timed("RemovePodSandbox", func() error { return rs.RemovePodSandbox(ctx, pod) })
	}
	b.StopTimer()
	for _, step := range steps {
		d := took[step]
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, step+"-ms")
	}
}
