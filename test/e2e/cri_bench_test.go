//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"
	criapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	remote "k8s.io/cri-client/pkg"

	"berth.dev/test/e2e/harness"
)

// criSteps are the kubelet's calls of a pod's life, in order, then a pull
// of a small image (one 1 MiB layer) that is removed again.
var criSteps = []string{"RunPodSandbox", "CreateContainer", "StartContainer", "StopContainer", "RemoveContainer",
	"StopPodSandbox", "RemovePodSandbox", "PullImage"}

// criTarget is one runtime under the benchmark and its timings.
type criTarget struct {
	name string
	rs   criapi.RuntimeService
	is   criapi.ImageManagerService
	took map[string][]time.Duration
}

// BenchmarkCRILifecycle times each kubelet call of a pod's life (a pod on
// a CNI bridge with one container) and a small image's pull, and reports
// the medians in ms. With CONTAINERD2_BIN set (containerd 2.x, its shim
// and ctr beside it) the same calls run against containerd on the same CNI
// network in the same run, the two alternating pod by pod, and the ratios
// (Berth over containerd; below 1 is faster) are reported too.
func BenchmarkCRILifecycle(b *testing.B) {
	net0 := newCRINet(b)
	reg := harness.Registry(b)
	pullRef := reg + "/bench/small:1"
	// Not busybox: removing a pulled image removes every name of it.
	small, err := random.Image(1<<20, 1)
	if err != nil {
		b.Fatal(err)
	}
	harness.Push(b, pullRef, small)
	hosts := hostsDir(b, map[string]string{reg: reg})
	// Berth logs at its default level, as containerd does.
	s, rs := criStack(b, net0, harness.WithEnv("BERTH_LOG_LEVEL=info", "BERTH_REGISTRY_CONFIG_PATH="+hosts))
	importCRIBusybox(b, s)
	targets := []*criTarget{{name: "berth", rs: rs, is: criImageClient(b, s.Socket)}}
	if c := startContainerdCRI(b, net0, hosts); c != nil {
		targets = append(targets, &criTarget{name: "containerd", rs: c.RS, is: c.IS})
	}
	for _, t := range targets {
		t.took = map[string][]time.Duration{}
	}
	load0 := loadAvg()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Each goes first every other pod.
		for j := range targets {
			criPodLife(b, targets[(i+j)%len(targets)], pullRef)
		}
	}
	b.StopTimer()
	// Printed rather than logged: a benchmark's log is cut at ten lines.
	var sb strings.Builder
	fmt.Fprintf(&sb, "CRI lifecycle, medians of %d pods (ms); load average before %s, after %s\n", b.N, load0, loadAvg())
	fmt.Fprintf(&sb, "  %-17s", "")
	for _, t := range targets {
		fmt.Fprintf(&sb, " %10s", t.name)
	}
	if len(targets) == 2 {
		fmt.Fprintf(&sb, " %10s", "ratio")
	}
	sb.WriteString("\n")
	for _, step := range criSteps {
		fmt.Fprintf(&sb, "  %-17s", step)
		var med []float64
		for _, t := range targets {
			m := median(t.took[step])
			med = append(med, m)
			fmt.Fprintf(&sb, " %10.1f", m)
			name := step + "-ms"
			if t.name != "berth" {
				name = t.name + "-" + name
			}
			b.ReportMetric(m, name)
		}
		if len(med) == 2 && med[1] > 0 {
			fmt.Fprintf(&sb, " %10.2f", med[0]/med[1])
		}
		sb.WriteString("\n")
	}
	fmt.Print(sb.String())
}

// criPodLife runs one pod with one container through its life on t, then
// pulls and removes an image.
func criPodLife(b *testing.B, t *criTarget, pullRef string) {
	ctx := context.Background()
	timed := func(step string, fn func() error) {
		start := time.Now()
		if err := fn(); err != nil {
			b.Fatalf("%s %s: %v", t.name, step, err)
		}
		t.took[step] = append(t.took[step], time.Since(start))
	}
	podCfg := podConfig(b, "bench")
	var pod, ctr string
	timed("RunPodSandbox", func() (err error) { pod, err = t.rs.RunPodSandbox(ctx, podCfg, ""); return })
	timed("CreateContainer", func() (err error) {
		ctr, err = t.rs.CreateContainer(ctx, pod, kubeletContainerConfig("c", "sleep", "600"), podCfg)
		return
	})
	timed("StartContainer", func() error { return t.rs.StartContainer(ctx, ctr) })
	timed("StopContainer", func() error { return t.rs.StopContainer(ctx, ctr, 0) })
	timed("RemoveContainer", func() error { return t.rs.RemoveContainer(ctx, ctr) })
	timed("StopPodSandbox", func() error { return t.rs.StopPodSandbox(ctx, pod) })
	timed("RemovePodSandbox", func() error { return t.rs.RemovePodSandbox(ctx, pod) })
	spec := &runtimeapi.ImageSpec{Image: pullRef}
	timed("PullImage", func() error { _, err := t.is.PullImage(ctx, spec, nil, nil); return err })
	if err := t.is.RemoveImage(ctx, spec); err != nil {
		b.Fatalf("%s RemoveImage: %v", t.name, err)
	}
}

// kubeletContainerConfig is containerConfig as the kubelet sends it: with
// its default masked and read-only paths, which containerd applies only
// when asked (Berth applies them by default).
func kubeletContainerConfig(name string, cmd ...string) *runtimeapi.ContainerConfig {
	c := containerConfig(name, cmd...)
	c.Linux.SecurityContext = &runtimeapi.LinuxContainerSecurityContext{
		MaskedPaths: []string{"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
			"/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"},
		ReadonlyPaths: []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
	}
	return c
}

func criImageClient(b *testing.B, socket string) criapi.ImageManagerService {
	is, err := remote.NewRemoteImageService(context.Background(), "unix://"+socket, 30*time.Second, nil, false)
	if err != nil {
		b.Fatal(err)
	}
	return is
}

// median is the middle of d in ms.
func median(d []time.Duration) float64 {
	if len(d) == 0 {
		return 0
	}
	d = append([]time.Duration(nil), d...)
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return float64(d[len(d)/2].Microseconds()) / 1000
}

// loadAvg is the machine's 1, 5 and 15 minute load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
