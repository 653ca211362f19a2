//go:build e2e

package e2e

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestCRIPodNetwork runs a pod on a CNI bridge, reaches it from the host,
// then stops and removes it: no namespace, address or container is left.
func TestCRIPodNetwork(t *testing.T) {
	net0 := newCRINet(t)
	s, rs := criStack(t, net0)
	ctx := context.Background()

	st, err := rs.Status(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range st.Status.Conditions {
		if !c.Status {
			t.Fatalf("condition %s not ready: %s %s", c.Type, c.Reason, c.Message)
		}
	}

	cfg := podConfig(t, "web")
	cfg.Linux.Sysctls = map[string]string{"net.ipv4.ip_unprivileged_port_start": "80"}
	id := runPod(t, rs, cfg)
	pod, info := sandboxInfo(t, rs, id)
	if pod.State != runtimeapi.PodSandboxState_SANDBOX_READY {
		t.Fatalf("pod state %v", pod.State)
	}
	ip := pod.GetNetwork().GetIp()
	if !strings.HasPrefix(ip, net0.Prefix) {
		t.Fatalf("pod IP %q not in %s", ip, net0.Subnet)
	}
	nsPath, _ := info["netNamespacePath"].(string)
	if nsPath == "" {
		t.Fatalf("no netns path in %v", info)
	}
	if _, err := os.Stat(filepath.Join(net0.DataDir, "berth-"+net0.Bridge, ip)); err != nil {
		t.Fatalf("no host-local allocation for %s: %v", ip, err)
	}
	out, err := exec.Command("nsenter", "--net="+nsPath, "cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "80" {
		t.Fatalf("pod sysctl: %q %v", out, err)
	}
	// Reaching the pod: nothing listens on the port, so the pod's kernel
	// answers with a reset; an unreachable address would time out.
	_, err = net.DialTimeout("tcp", net.JoinHostPort(ip, "9"), 5*time.Second)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial pod %s: %v (want connection refused)", ip, err)
	}
	out = []byte(s.MustCtr(t, "-n", "k8s.io", "containers", "ls", "-q"))
	if !strings.Contains(string(out), id) {
		t.Fatalf("ctr -n k8s.io containers ls does not show the pause container %s:\n%s", id, out)
	}
	list, err := rs.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"app": "web"}})
	if err != nil || len(list) != 1 || list[0].Id != id {
		t.Fatalf("ListPodSandbox by label: %v %v", list, err)
	}
	list, _ = rs.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{Id: id[:12]})
	if len(list) != 1 {
		t.Fatalf("ListPodSandbox by id prefix: %v", list)
	}

	// A pod on the host's network gets no namespace and no address.
	hostCfg := podConfig(t, "hostnet")
	hostCfg.Linux.SecurityContext = &runtimeapi.LinuxSandboxSecurityContext{NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE}}
	hostPod := runPod(t, rs, hostCfg)
	hst, hinfo := sandboxInfo(t, rs, hostPod)
	if hst.State != runtimeapi.PodSandboxState_SANDBOX_READY || hst.Network.Ip != "" || hinfo["netNamespacePath"] != "" ||
		hst.Linux.Namespaces.Options.Network != runtimeapi.NamespaceMode_NODE {
		t.Fatalf("host network pod: %v %v", hst, hinfo)
	}
	if err := rs.StopPodSandbox(ctx, hostPod); err != nil {
		t.Fatalf("StopPodSandbox of the host network pod: %v", err)
	}

	if err := rs.StopPodSandbox(ctx, id); err != nil {
		t.Fatalf("StopPodSandbox: %v", err)
	}
	if err := rs.StopPodSandbox(ctx, id); err != nil {
		t.Fatalf("second StopPodSandbox: %v", err)
	}
	pod, _ = sandboxInfo(t, rs, id)
	if pod.State != runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
		t.Fatalf("stopped pod state %v", pod.State)
	}
	if _, err := os.Stat(nsPath); !os.IsNotExist(err) {
		t.Fatalf("netns %s left after stop: %v", nsPath, err)
	}
	if _, err := os.Stat(filepath.Join(net0.DataDir, "berth-"+net0.Bridge, ip)); !os.IsNotExist(err) {
		t.Fatalf("address %s still allocated after stop: %v", ip, err)
	}
	list, _ = rs.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{State: &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_READY}})
	if len(list) != 0 {
		t.Fatalf("ready pods after stop: %v", list)
	}
	if err := rs.RemovePodSandbox(ctx, id); err != nil {
		t.Fatalf("RemovePodSandbox: %v", err)
	}
	if _, err := rs.PodSandboxStatus(ctx, id, false); err == nil {
		t.Fatal("status of a removed pod succeeded")
	}
	if out := s.MustCtr(t, "-n", "k8s.io", "containers", "ls", "-q"); strings.Contains(out, id) {
		t.Fatalf("pause container left after remove:\n%s", out)
	}
}
