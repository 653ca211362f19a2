package spec

import (
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// FuzzSpecs feeds arbitrary CRI configs (as the kubelet sends them, in
// protobuf) to the spec builders: whatever the configs say, building must
// not panic, and a spec that is built runs something.
func FuzzSpecs(f *testing.F) {
	pod, _ := proto.Marshal(&runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: "p", Uid: "u", Namespace: "n"},
		Hostname: "p", Linux: &runtimeapi.LinuxPodSandboxConfig{Sysctls: map[string]string{"net.ipv4.ip_forward": "1"},
			SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE}}},
		PortMappings: []*runtimeapi.PortMapping{{ContainerPort: 80, HostPort: 8080}},
	})
	ctr, _ := proto.Marshal(&runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Command: []string{"sh"}, Args: []string{"-c", "true"},
		WorkingDir: "/w", Envs: []*runtimeapi.KeyValue{{Key: "A", Value: []byte("1")}},
		Mounts:  []*runtimeapi.Mount{{ContainerPath: "/data", HostPath: "/tmp", Propagation: runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL}},
		Devices: []*runtimeapi.Device{{ContainerPath: "/dev/x", HostPath: "/dev/null", Permissions: "rwm"}},
		Linux: &runtimeapi.LinuxContainerConfig{
			Resources: &runtimeapi.LinuxContainerResources{CpuQuota: 50000, CpuPeriod: 100000, MemoryLimitInBytes: 1 << 24, OomScoreAdj: -1000},
			SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
				Capabilities: &runtimeapi.Capability{AddCapabilities: []string{"ALL"}, DropCapabilities: []string{"CHOWN"}},
				RunAsUser:    &runtimeapi.Int64Value{Value: 1000}, ReadonlyRootfs: true, NoNewPrivs: true,
				Seccomp: &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault},
			},
		},
	})
	f.Add(pod, ctr, "busybox", "sh")
	f.Add([]byte{}, []byte{}, "", "")
	f.Fuzz(func(t *testing.T, podBytes, ctrBytes []byte, user, cmd string) {
		podCfg, ctrCfg := &runtimeapi.PodSandboxConfig{}, &runtimeapi.ContainerConfig{}
		if proto.Unmarshal(podBytes, podCfg) != nil || proto.Unmarshal(ctrBytes, ctrCfg) != nil {
			return
		}
		img := ocispec.ImageConfig{User: user, Cmd: []string{cmd}}
		if s, err := ForSandbox(Sandbox{ID: "s", Config: podCfg, Image: img, NetNS: "/run/netns/x"}); err == nil && s.Process == nil {
			t.Fatal("a sandbox spec with no process")
		}
		s, err := ForContainer(Container{ID: "c", Config: ctrCfg, Sandbox: podCfg, SandboxID: "s", SandboxPid: 1,
			Image: img, Rootfs: Rootfs{t.TempDir()}})
		if err == nil && (s.Process == nil || len(s.Process.Args) == 0) {
			t.Fatalf("a container spec that runs nothing: %+v", s.Process)
		}
	})
}
