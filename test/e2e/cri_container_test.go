//go:build e2e

package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
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

	stats, err := rs.ContainerStats(ctx, web)
	if err != nil {
		t.Fatalf("ContainerStats: %v", err)
	}
	if stats.GetMemory().GetUsageBytes().GetValue() == 0 {
		t.Fatalf("no memory usage in %v", stats)
	}
	all, err := rs.ListContainerStats(ctx, &runtimeapi.ContainerStatsFilter{PodSandboxId: pod})
	if err != nil || len(all) != 1 || all[0].Attributes.Id != web {
		t.Fatalf("ListContainerStats: %v %v", all, err)
	}

	short := startContainer(t, rs, pod, podCfg, containerConfig("short", "sh", "-c", "exit 3"))
	eventually(t, "the short container exits", func() bool {
		return containerState(t, rs, short).State == runtimeapi.ContainerState_CONTAINER_EXITED
	})
	if cs := containerState(t, rs, short); cs.ExitCode != 3 || cs.Reason != "Error" || cs.FinishedAt == 0 {
		t.Fatalf("short: exit %d reason %q finished %d", cs.ExitCode, cs.Reason, cs.FinishedAt)
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
}
