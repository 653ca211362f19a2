//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"syscall"
	"testing"

	criapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func containerPid(t *testing.T, rs criapi.RuntimeService, id string) int {
	t.Helper()
	resp, err := rs.ContainerStatus(context.Background(), id, true)
	if err != nil {
		t.Fatal(err)
	}
	var info struct{ Pid int }
	if err := json.Unmarshal([]byte(resp.Info["info"]), &info); err != nil || info.Pid == 0 {
		t.Fatalf("no pid in %q: %v", resp.Info["info"], err)
	}
	return info.Pid
}

// TestCRIGatewayRestart kills the gateway with a pod running; a container
// killed meanwhile is reported exited once it is back, the others still
// run, and CRI calls work. With taskd killed, lists and statuses still
// answer from the gateway's records, and an exit meanwhile arrives once
// taskd is back.
func TestCRIGatewayRestart(t *testing.T) {
	net0 := newCRINet(t)
	s, rs := criStack(t, net0)
	importCRIBusybox(t, s)
	ctx := context.Background()
	podCfg := podConfig(t, "survivor")
	pod := runPod(t, rs, podCfg)
	keep := startContainer(t, rs, pod, podCfg, containerConfig("keep", "sleep", "600"))
	victim := startContainer(t, rs, pod, podCfg, containerConfig("victim", "sleep", "600"))
	victimPid := containerPid(t, rs, victim)

	s.Kill(t, "gateway")
	if err := syscall.Kill(victimPid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill the victim: %v", err)
	}
	s.StartDaemon(t, "gateway")

	eventually(t, "the victim's exit is applied", func() bool {
		resp, err := rs.ContainerStatus(ctx, victim, false)
		return err == nil && resp.Status.State == runtimeapi.ContainerState_CONTAINER_EXITED
	})
	if cs := containerState(t, rs, victim); cs.ExitCode != 137 || cs.Reason != "Error" {
		t.Fatalf("victim: exit %d reason %q", cs.ExitCode, cs.Reason)
	}
	if cs := containerState(t, rs, keep); cs.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Fatalf("keep after the restart: %v", cs.State)
	}
	if st, _ := sandboxInfo(t, rs, pod); st.State != runtimeapi.PodSandboxState_SANDBOX_READY {
		t.Fatalf("pod after the restart: %v", st.State)
	}

	keepPid := containerPid(t, rs, keep)
	s.Kill(t, "taskd")
	list, err := rs.ListContainers(ctx, &runtimeapi.ContainerFilter{PodSandboxId: pod})
	if err != nil || len(list) != 2 {
		t.Fatalf("ListContainers with taskd down: %v %v", list, err)
	}
	if _, err := rs.PodSandboxStatus(ctx, pod, false); err != nil {
		t.Fatalf("PodSandboxStatus with taskd down: %v", err)
	}
	// An exit while taskd is away reaches the CRI once taskd is back.
	if err := syscall.Kill(keepPid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill keep: %v", err)
	}
	s.StartDaemon(t, "taskd")
	eventually(t, "keep's exit after taskd's return", func() bool {
		return containerState(t, rs, keep).State == runtimeapi.ContainerState_CONTAINER_EXITED
	})
	if cs := containerState(t, rs, keep); cs.ExitCode != 137 {
		t.Fatalf("keep: exit %d", cs.ExitCode)
	}

	if err := rs.StopContainer(ctx, keep, 1); err != nil {
		t.Fatalf("StopContainer after the restarts: %v", err)
	}
	if err := rs.StopPodSandbox(ctx, pod); err != nil {
		t.Fatalf("StopPodSandbox after the restarts: %v", err)
	}
	if err := rs.RemovePodSandbox(ctx, pod); err != nil {
		t.Fatalf("RemovePodSandbox after the restarts: %v", err)
	}
	if left, _ := rs.ListContainers(ctx, nil); len(left) != 0 {
		t.Fatalf("containers left: %v", left)
	}
}
