//go:build e2e

package e2e

import (
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestCRIPidNamespaces: containers sharing the pod's pid namespace see
// each other's processes (and the pause process as pid 1); a container
// with its own does not.
func TestCRIPidNamespaces(t *testing.T) {
	net0 := newCRINet(t)
	s, rs := criStack(t, net0)
	importCRIBusybox(t, s)
	podCfg := podConfig(t, "pids")
	pod := runPod(t, rs, podCfg)
	withPid := func(cfg *runtimeapi.ContainerConfig, mode runtimeapi.NamespaceMode) *runtimeapi.ContainerConfig {
		cfg.Linux.SecurityContext = &runtimeapi.LinuxContainerSecurityContext{NamespaceOptions: &runtimeapi.NamespaceOption{Pid: mode}}
		return cfg
	}
	startContainer(t, rs, pod, podCfg, withPid(containerConfig("sleeper", "sleep", "600"), runtimeapi.NamespaceMode_POD))
	sees := `ps | grep -q "[s]leep 600" && ps | grep -q "^ *1 .*pause"`
	shared := startContainer(t, rs, pod, podCfg, withPid(containerConfig("shared", "sh", "-c", sees), runtimeapi.NamespaceMode_POD))
	own := startContainer(t, rs, pod, podCfg, withPid(containerConfig("own", "sh", "-c", sees), runtimeapi.NamespaceMode_CONTAINER))
	for id, want := range map[string]int32{shared: 0, own: 1} {
		eventually(t, "the checker exits", func() bool {
			return containerState(t, rs, id).State == runtimeapi.ContainerState_CONTAINER_EXITED
		})
		if got := containerState(t, rs, id).ExitCode; got != want {
			t.Errorf("container %s: exit %d, want %d", containerState(t, rs, id).Metadata.Name, got, want)
		}
	}
}
