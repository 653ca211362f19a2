//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	criapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"berth.dev/test/e2e/harness"
)

// criBusybox is the local busybox image, imported into k8s.io.
const criBusybox = "berth.local/busybox:cri"

func importCRIBusybox(t testing.TB, s *harness.Stack) {
	t.Helper()
	tar := filepath.Join(t.TempDir(), "busybox.tar")
	harness.DockerArchive(t, tar, criBusybox, harness.BusyboxImage(t))
	s.MustCtr(t, "-n", "k8s.io", "images", "import", tar)
}

func containerConfig(name string, cmd ...string) *runtimeapi.ContainerConfig {
	return &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: name},
		Image:    &runtimeapi.ImageSpec{Image: criBusybox},
		Command:  cmd,
		Labels:   map[string]string{"container": name},
		Linux:    &runtimeapi.LinuxContainerConfig{},
	}
}

// startContainer creates and starts a container, removed at cleanup.
func startContainer(t *testing.T, rs criapi.RuntimeService, pod string, podCfg *runtimeapi.PodSandboxConfig, cfg *runtimeapi.ContainerConfig) string {
	t.Helper()
	ctx := context.Background()
	id, err := rs.CreateContainer(ctx, pod, cfg, podCfg)
	if err != nil {
		t.Fatalf("CreateContainer %s: %v", cfg.Metadata.Name, err)
	}
	t.Cleanup(func() { rs.RemoveContainer(ctx, id) })
	if err := rs.StartContainer(ctx, id); err != nil {
		t.Fatalf("StartContainer %s: %v", cfg.Metadata.Name, err)
	}
	return id
}

// memoryLimit reads the memory limit of pid's cgroup (v1 or v2).
func memoryLimit(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		var file string
		switch {
		case len(parts) == 3 && strings.Contains(parts[1], "memory"):
			file = "/sys/fs/cgroup/memory" + parts[2] + "/memory.limit_in_bytes"
		case len(parts) == 3 && parts[0] == "0" && parts[1] == "":
			file = "/sys/fs/cgroup" + parts[2] + "/memory.max"
		default:
			continue
		}
		if v, err := os.ReadFile(file); err == nil {
			return strings.TrimSpace(string(v))
		}
	}
	t.Fatalf("no memory cgroup for %d in %s", pid, b)
	return ""
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return string(b)
}

func containerState(t *testing.T, rs criapi.RuntimeService, id string) *runtimeapi.ContainerStatus {
	t.Helper()
	resp, err := rs.ContainerStatus(context.Background(), id, false)
	if err != nil {
		t.Fatalf("ContainerStatus: %v", err)
	}
	return resp.Status
}

// TestCRIContainerLifecycle runs a server in a pod, reaches it over the
// pod network, reads its stats, stops and removes it; and a container that
// exits on its own reports its code.
func TestCRIContainerLifecycle(t *testing.T) {
	net0 := newCRINet(t)
	s, rs := criStack(t, net0)
	importCRIBusybox(t, s)
	ctx := context.Background()
	podCfg := podConfig(t, "server")
	podCfg.DnsConfig = &runtimeapi.DNSConfig{Servers: []string{"10.0.0.10"}, Searches: []string{"e2e.svc.cluster.local"}, Options: []string{"ndots:5"}}
	hostPort := 20000 + rand.Int32N(10000)
	podCfg.PortMappings = []*runtimeapi.PortMapping{{ContainerPort: 8080, HostPort: hostPort, Protocol: runtimeapi.Protocol_TCP}}
	pod := runPod(t, rs, podCfg)
	st, _ := sandboxInfo(t, rs, pod)
	ip := st.Network.Ip
	evctx, stopEvents := context.WithCancel(ctx)
	defer stopEvents()
	events := make(chan *runtimeapi.ContainerEventResponse, 100)
	go rs.GetContainerEvents(evctx, events, nil)

	// busybox httpd serves /etc, where the pod's hostname file is mounted.
	web := startContainer(t, rs, pod, podCfg, containerConfig("web", "/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/etc"))
	if cs := containerState(t, rs, web); cs.State != runtimeapi.ContainerState_CONTAINER_RUNNING || cs.StartedAt == 0 {
		t.Fatalf("web: state %v started %d", cs.State, cs.StartedAt)
	}
	var body string
	eventually(t, "the pod's web server answers", func() bool {
		c := http.Client{Timeout: 2 * time.Second}
		resp, err := c.Get("http://" + net.JoinHostPort(ip, "8080") + "/hostname")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == http.StatusOK
	})
	if strings.TrimSpace(body) != "server" {
		t.Fatalf("pod hostname file says %q, want server", body)
	}
	// Through the host port (portmap's DNAT on the host's own address on
	// the bridge): the pod's resolv.conf from its DNS config.
	resolv := httpGet(t, "http://"+net.JoinHostPort(net0.Prefix+"1", fmt.Sprint(hostPort))+"/resolv.conf")
	if !strings.Contains(resolv, "nameserver 10.0.0.10") || !strings.Contains(resolv, "search e2e.svc.cluster.local") || !strings.Contains(resolv, "options ndots:5") {
		t.Fatalf("pod resolv.conf through the host port:\n%s", resolv)
	}

	// What the container writes to its rootfs shows as its writable layer.
	if _, _, err := rs.ExecSync(ctx, web, []string{"dd", "if=/dev/zero", "of=/written", "bs=1024", "count=256"}, 10*time.Second); err != nil {
		t.Fatalf("write into the rootfs: %v", err)
	}
	stats, err := rs.ContainerStats(ctx, web)
	if err != nil {
		t.Fatalf("ContainerStats: %v", err)
	}
	if stats.GetMemory().GetUsageBytes().GetValue() == 0 {
		t.Fatalf("no memory usage in %v", stats)
	}
	if wl := stats.GetWritableLayer(); wl.GetUsedBytes().GetValue() < 256<<10 || wl.GetInodesUsed().GetValue() == 0 || wl.GetFsId().GetMountpoint() == "" {
		t.Fatalf("writable layer %v, want the 256 KiB written", wl)
	}
	all, err := rs.ListContainerStats(ctx, &runtimeapi.ContainerStatsFilter{PodSandboxId: pod})
	if err != nil || len(all) != 1 || all[0].Attributes.Id != web {
		t.Fatalf("ListContainerStats: %v %v", all, err)
	}

	// New limits reach the running container's cgroup.
	if err := rs.UpdateContainerResources(ctx, web, &runtimeapi.ContainerResources{Linux: &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 96 << 20}}); err != nil {
		t.Fatalf("UpdateContainerResources: %v", err)
	}
	if got := memoryLimit(t, containerPid(t, rs, web)); got != fmt.Sprint(96<<20) {
		t.Fatalf("memory limit after the update: %s", got)
	}
	if r := containerState(t, rs, web).GetResources().GetLinux(); r.GetMemoryLimitInBytes() != 96<<20 {
		t.Fatalf("status resources after the update: %v", r)
	}

	podStats, err := rs.PodSandboxStats(ctx, pod)
	if err != nil || len(podStats.GetLinux().GetContainers()) != 1 || podStats.GetLinux().GetCpu().GetUsageCoreNanoSeconds().GetValue() == 0 {
		t.Fatalf("PodSandboxStats: %v %v", podStats, err)
	}

	shortCfg := containerConfig("short", "sh", "-c", "exit 3")
	// nobody's group comes from the image's /etc/passwd.
	shortCfg.Linux.SecurityContext = &runtimeapi.LinuxContainerSecurityContext{RunAsUser: &runtimeapi.Int64Value{Value: 65534}}
	short := startContainer(t, rs, pod, podCfg, shortCfg)
	eventually(t, "the short container exits", func() bool {
		return containerState(t, rs, short).State == runtimeapi.ContainerState_CONTAINER_EXITED
	})
	if cs := containerState(t, rs, short); cs.ExitCode != 3 || cs.Reason != "Error" || cs.FinishedAt == 0 {
		t.Fatalf("short: exit %d reason %q finished %d", cs.ExitCode, cs.Reason, cs.FinishedAt)
	}
	if u := containerState(t, rs, short).GetUser().GetLinux(); u.GetUid() != 65534 || u.GetGid() != 65534 {
		t.Fatalf("short runs as %v, want 65534:65534", u)
	}

	running, err := rs.ListContainers(ctx, &runtimeapi.ContainerFilter{State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING}})
	if err != nil || len(running) != 1 || running[0].Id != web {
		t.Fatalf("running containers: %v %v", running, err)
	}
	byLabel, _ := rs.ListContainers(ctx, &runtimeapi.ContainerFilter{LabelSelector: map[string]string{"container": "short"}, PodSandboxId: pod})
	if len(byLabel) != 1 || byLabel[0].Id != short {
		t.Fatalf("containers labelled short: %v", byLabel)
	}

	if err := rs.StopContainer(ctx, web, 5); err != nil {
		t.Fatalf("StopContainer: %v", err)
	}
	if cs := containerState(t, rs, web); cs.State != runtimeapi.ContainerState_CONTAINER_EXITED {
		t.Fatalf("stopped web is %v", cs.State)
	}
	if err := rs.StopContainer(ctx, web, 5); err != nil {
		t.Fatalf("second StopContainer: %v", err)
	}
	for _, id := range []string{web, short} {
		if err := rs.RemoveContainer(ctx, id); err != nil {
			t.Fatalf("RemoveContainer: %v", err)
		}
	}
	var seen []runtimeapi.ContainerEventType
	eventually(t, "short's lifecycle events", func() bool {
		for {
			select {
			case ev := <-events:
				if ev.ContainerId == short {
					if ev.PodSandboxStatus.GetId() != pod {
						t.Fatalf("event without its pod's status: %v", ev)
					}
					seen = append(seen, ev.ContainerEventType)
				}
			default:
				return slices.Contains(seen, runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT)
			}
		}
	})
	want := []runtimeapi.ContainerEventType{runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT, runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT,
		runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT, runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT}
	if !slices.Equal(seen, want) {
		t.Fatalf("events of short: %v, want %v", seen, want)
	}
	if left, _ := rs.ListContainers(ctx, nil); len(left) != 0 {
		t.Fatalf("containers left: %v", left)
	}
	if out := s.MustCtr(t, "-n", "k8s.io", "containers", "ls", "-q"); strings.Contains(out, web) || strings.Contains(out, short) {
		t.Fatalf("taskd still has removed containers:\n%s", out)
	}
	// Their rootfs snapshots go after RemoveContainer answers.
	eventually(t, "the removed containers' snapshots to go", func() bool {
		out := s.MustCtr(t, "-n", "k8s.io", "snapshots", "ls")
		return !strings.Contains(out, web) && !strings.Contains(out, short)
	})
	if err := rs.StopPodSandbox(ctx, pod); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pod's stop event", func() bool {
		for {
			select {
			case ev := <-events:
				if ev.ContainerId == pod && ev.ContainerEventType == runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT &&
					ev.PodSandboxStatus.GetState() == runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
					return true
				}
			default:
				return false
			}
		}
	})
}
