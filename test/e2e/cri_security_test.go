//go:build e2e

package e2e

import (
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestCRISecurityContext: privileged containers may mount, others not
// (capabilities and the runtime default seccomp profile); a read-only
// rootfs refuses writes.
func TestCRISecurityContext(t *testing.T) {
	net0 := newCRINet(t)
	s, rs := criStack(t, net0)
	importCRIBusybox(t, s)
	podCfg := podConfig(t, "secure")
	pod := runPod(t, rs, podCfg)
	mount := []string{"/bin/busybox", "mount", "-t", "tmpfs", "t", "/tmp"}
	swapoff := []string{"sh", "-c", `/bin/busybox swapoff /nonexistent 2>&1 | grep -q "not permitted"`}
	cases := []struct {
		name string
		cmd  []string
		sc   *runtimeapi.LinuxContainerSecurityContext
		ok   bool
	}{
		{"privileged", mount, &runtimeapi.LinuxContainerSecurityContext{Privileged: true}, true},
		{"unprivileged", mount, &runtimeapi.LinuxContainerSecurityContext{}, false},
		// The default profile allows mount with CAP_SYS_ADMIN, as
		// containerd's, but never swapoff: EPERM before the path is looked
		// at, where an unconfined one says ENOENT.
		{"sys-admin-runtime-default", mount, &runtimeapi.LinuxContainerSecurityContext{
			Capabilities: &runtimeapi.Capability{AddCapabilities: []string{"SYS_ADMIN"}},
			Seccomp:      &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault},
		}, true},
		{"seccomp-denies", swapoff, &runtimeapi.LinuxContainerSecurityContext{
			Capabilities: &runtimeapi.Capability{AddCapabilities: []string{"SYS_ADMIN"}},
			Seccomp:      &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault},
		}, true},
		{"unconfined-allows", swapoff, &runtimeapi.LinuxContainerSecurityContext{
			Capabilities: &runtimeapi.Capability{AddCapabilities: []string{"SYS_ADMIN"}},
		}, false},
		{"readonly", []string{"touch", "/x"}, &runtimeapi.LinuxContainerSecurityContext{ReadonlyRootfs: true}, false},
		{"writable", []string{"touch", "/x"}, &runtimeapi.LinuxContainerSecurityContext{}, true},
	}
	ids := map[string]string{}
	for _, c := range cases {
		cfg := containerConfig(c.name, c.cmd...)
		cfg.Linux.SecurityContext = c.sc
		ids[c.name] = startContainer(t, rs, pod, podCfg, cfg)
	}
	for _, c := range cases {
		id := ids[c.name]
		eventually(t, c.name+" exits", func() bool {
			return containerState(t, rs, id).State == runtimeapi.ContainerState_CONTAINER_EXITED
		})
		if code := containerState(t, rs, id).ExitCode; (code == 0) != c.ok {
			t.Errorf("%s: exit %d, want success %v", c.name, code, c.ok)
		}
	}
}
