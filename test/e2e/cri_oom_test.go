//go:build e2e

package e2e

import (
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestCRIContainerOOMKilled: a container over its memory limit is
// reported exited with the reason OOMKilled.
func TestCRIContainerOOMKilled(t *testing.T) {
	net0 := newCRINet(t)
	s, rs := criStack(t, net0)
	importCRIBusybox(t, s)
	podCfg := podConfig(t, "hungry")
	pod := runPod(t, rs, podCfg)
	cfg := containerConfig("hog", "sh", "-c", `a=xxxxxxxx; while true; do a="$a$a"; done`)
	cfg.Linux.Resources = &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 16 << 20}
	hog := startContainer(t, rs, pod, podCfg, cfg)
	eventually(t, "the hog exits", func() bool {
		return containerState(t, rs, hog).State == runtimeapi.ContainerState_CONTAINER_EXITED
	})
	if cs := containerState(t, rs, hog); cs.Reason != "OOMKilled" || cs.ExitCode != 137 {
		t.Fatalf("hog: reason %q exit %d", cs.Reason, cs.ExitCode)
	}
}
