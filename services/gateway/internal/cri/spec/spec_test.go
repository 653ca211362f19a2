package spec

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestProcessArgs(t *testing.T) {
	img := ocispec.ImageConfig{Entrypoint: []string{"/entry"}, Cmd: []string{"cmd-arg"}}
	for _, tc := range []struct {
		name          string
		command, args []string
		img           ocispec.ImageConfig
		want          []string
	}{
		{"image only", nil, nil, img, []string{"/entry", "cmd-arg"}},
		{"args replace cmd", nil, []string{"a"}, img, []string{"/entry", "a"}},
		{"command replaces entrypoint and drops cmd", []string{"/bin/sh"}, nil, img, []string{"/bin/sh"}},
		{"command and args", []string{"/bin/sh"}, []string{"-c", "x"}, img, []string{"/bin/sh", "-c", "x"}},
		{"empty entrypoint string", nil, nil, ocispec.ImageConfig{Entrypoint: []string{""}, Cmd: []string{"c"}}, []string{"c"}},
		{"empty but non-nil command keeps no entrypoint", []string{}, nil, img, []string{"cmd-arg"}},
	} {
		got, err := ProcessArgs(tc.command, tc.args, tc.img)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %q %v, want %q", tc.name, got, err, tc.want)
		}
	}
	if _, err := ProcessArgs(nil, nil, ocispec.ImageConfig{}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("no command at all: %v", err)
	}
}

func TestResolveUser(t *testing.T) {
	upper, lower := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(lower, "etc"), 0o755)
	os.WriteFile(filepath.Join(lower, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\nweb:x:1000:1001:web:/home/web:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(lower, "etc/group"), []byte("root:x:0:\nweb:x:1001:\nextra:x:2000:web,other\nstaff:x:50:\n"), 0o644)
	r := Rootfs{upper, lower}
	for _, tc := range []struct {
		spec     string
		uid, gid uint32
		extra    []uint32
	}{
		{"", 0, 0, nil},
		{"web", 1000, 1001, []uint32{2000}},
		{"1000", 1000, 1001, []uint32{2000}},
		{"4242", 4242, 0, nil},
		{"web:staff", 1000, 50, []uint32{2000}},
		{"1000:7", 1000, 7, []uint32{2000}},
	} {
		u, err := r.ResolveUser(tc.spec)
		if err != nil || u.UID != tc.uid || u.GID != tc.gid || !slices.Equal(u.AdditionalGids, tc.extra) {
			t.Errorf("%q: got %+v %v", tc.spec, u, err)
		}
	}
	for _, bad := range []string{"nobody", "web:nogroup"} {
		if _, err := r.ResolveUser(bad); !errdefs.IsInvalidArgument(err) {
			t.Errorf("%q: got %v, want InvalidArgument", bad, err)
		}
	}
}

func TestCapabilities(t *testing.T) {
	got, err := adjustCapabilities(DefaultCapabilities(), []string{"NET_ADMIN"}, []string{"CAP_KILL"})
	if err != nil || !slices.Contains(got, "CAP_NET_ADMIN") || slices.Contains(got, "CAP_KILL") {
		t.Fatalf("add/drop: %v %v", got, err)
	}
	got, _ = adjustCapabilities(DefaultCapabilities(), []string{"CHOWN"}, []string{"ALL"})
	if !slices.Equal(got, []string{"CAP_CHOWN"}) {
		t.Fatalf("drop ALL keeps added: %v", got)
	}
	if _, err := adjustCapabilities(nil, []string{"BOGUS"}, nil); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("unknown capability: %v", err)
	}
}

func TestRuntimeDefaultSeccomp(t *testing.T) {
	p := RuntimeDefault(DefaultCapabilities())
	allowed := func(name string) bool {
		for _, s := range p.Syscalls {
			if s.Action == specs.ActAllow && len(s.Args) == 0 && slices.Contains(s.Names, name) {
				return true
			}
		}
		return false
	}
	for _, want := range []string{"read", "execve", "openat"} {
		if !allowed(want) {
			t.Errorf("%s not allowed", want)
		}
	}
	for _, denied := range []string{"mount", "unshare", "kexec_load", "init_module", "clone"} {
		if allowed(denied) {
			t.Errorf("%s allowed without conditions for an unprivileged container", denied)
		}
	}
	if p := RuntimeDefault(AllCapabilities()); !slices.ContainsFunc(p.Syscalls, func(s specs.LinuxSyscall) bool {
		return s.Action == specs.ActAllow && slices.Contains(s.Names, "mount")
	}) {
		t.Error("mount denied with CAP_SYS_ADMIN")
	}
}

func TestContainerSpec(t *testing.T) {
	dir := t.TempDir()
	s, err := ForContainer(Container{
		ID: "c1", SandboxID: "s1", SandboxPid: 42,
		Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "app"},
			Envs:     []*runtimeapi.KeyValue{{Key: "A", Value: []byte("override")}, {Key: "B", Value: []byte("b")}},
			Mounts:   []*runtimeapi.Mount{{ContainerPath: "/data", HostPath: dir, Readonly: true, Propagation: runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER}},
			Linux: &runtimeapi.LinuxContainerConfig{
				Resources:       &runtimeapi.LinuxContainerResources{CpuShares: 512, MemoryLimitInBytes: 1 << 26, OomScoreAdj: -5},
				SecurityContext: &runtimeapi.LinuxContainerSecurityContext{NamespaceOptions: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_POD}},
			},
		},
		Sandbox: &runtimeapi.PodSandboxConfig{Hostname: "pod"},
		Image:   ocispec.ImageConfig{Env: []string{"A=image", "PATH=/bin"}, Cmd: []string{"run"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Process.Env[:3], []string{"A=override", "PATH=/bin", "B=b"}) {
		t.Errorf("env %q", s.Process.Env)
	}
	nsPaths := map[specs.LinuxNamespaceType]string{}
	for _, ns := range s.Linux.Namespaces {
		nsPaths[ns.Type] = ns.Path
	}
	if nsPaths[specs.NetworkNamespace] != "/proc/42/ns/net" || nsPaths[specs.PIDNamespace] != "/proc/42/ns/pid" || nsPaths[specs.MountNamespace] != "" {
		t.Errorf("namespaces %v", s.Linux.Namespaces)
	}
	var data *specs.Mount
	for i := range s.Mounts {
		if s.Mounts[i].Destination == "/data" {
			data = &s.Mounts[i]
		}
	}
	if data == nil || !slices.Contains(data.Options, "rslave") || !slices.Contains(data.Options, "ro") {
		t.Errorf("/data mount %+v", data)
	}
	if *s.Linux.Resources.CPU.Shares != 512 || *s.Linux.Resources.Memory.Limit != 1<<26 || *s.Process.OOMScoreAdj != -5 {
		t.Errorf("resources %+v oom %v", s.Linux.Resources, s.Process.OOMScoreAdj)
	}
	if len(s.Linux.MaskedPaths) == 0 || s.Linux.Seccomp != nil {
		t.Errorf("masked %v seccomp %v", s.Linux.MaskedPaths, s.Linux.Seccomp)
	}
	if !hasMount(s, "/sys/fs/cgroup") || s.Process.Rlimits != nil {
		t.Errorf("cgroup mount %v, rlimits %v", hasMount(s, "/sys/fs/cgroup"), s.Process.Rlimits)
	}
}

// The pause container's spec is containerd's sandbox spec: no cgroup
// filesystem, no new privileges, no rlimits.
func TestSandboxSpec(t *testing.T) {
	s, err := ForSandbox(Sandbox{ID: "s1", Config: &runtimeapi.PodSandboxConfig{Hostname: "pod"},
		Image: ocispec.ImageConfig{Entrypoint: []string{"/pause"}}, NetNS: "/run/netns/x", ShmDir: "/run/shm"})
	if err != nil {
		t.Fatal(err)
	}
	if hasMount(s, "/sys/fs/cgroup") || !hasMount(s, "/sys") || !hasMount(s, "/dev/shm") {
		t.Errorf("mounts %+v", s.Mounts)
	}
	if !s.Process.NoNewPrivileges || s.Process.Rlimits != nil || !s.Root.Readonly {
		t.Errorf("no new privileges %v, rlimits %v, read-only root %v", s.Process.NoNewPrivileges, s.Process.Rlimits, s.Root.Readonly)
	}
	if s.Linux.Sysctl["net.ipv4.ip_unprivileged_port_start"] != "0" {
		t.Errorf("sysctls %v", s.Linux.Sysctl)
	}
}

// A pod with its own network gets containerd's unprivileged port and ping
// sysctls unless it sets them; a pod on the host's network gets neither.
func TestSandboxSysctlDefaults(t *testing.T) {
	img := ocispec.ImageConfig{Entrypoint: []string{"/pause"}}
	own, err := ForSandbox(Sandbox{ID: "s1", Image: img, NetNS: "/run/netns/x", Config: &runtimeapi.PodSandboxConfig{
		Linux: &runtimeapi.LinuxPodSandboxConfig{Sysctls: map[string]string{"net.ipv4.ip_unprivileged_port_start": "80"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if own.Linux.Sysctl["net.ipv4.ip_unprivileged_port_start"] != "80" {
		t.Errorf("the pod's value lost: %v", own.Linux.Sysctl)
	}
	if _, ok := own.Linux.Sysctl["net.ipv4.ping_group_range"]; ok == runningInUserNS() {
		t.Errorf("ping_group_range %v in a user namespace %v", own.Linux.Sysctl, runningInUserNS())
	}
	host, err := ForSandbox(Sandbox{ID: "s2", Image: img, Config: &runtimeapi.PodSandboxConfig{Linux: &runtimeapi.LinuxPodSandboxConfig{
		SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if host.Linux.Sysctl != nil {
		t.Errorf("host network pod got sysctls %v", host.Linux.Sysctl)
	}
}

func hasMount(s *specs.Spec, dst string) bool {
	return slices.ContainsFunc(s.Mounts, func(m specs.Mount) bool { return m.Destination == dst })
}

func TestPrivilegedCapabilitiesAreOwn(t *testing.T) {
	got := PrivilegedCapabilities()
	if len(got) == 0 || !slices.Contains(got, "CAP_CHOWN") {
		t.Fatalf("privileged capabilities %v", got)
	}
	for _, c := range got {
		if _, ok := capabilityBits[c]; !ok {
			t.Fatalf("unknown capability %s", c)
		}
	}
}

func TestUserSecurityContext(t *testing.T) {
	lower := t.TempDir()
	os.MkdirAll(filepath.Join(lower, "etc"), 0o755)
	os.WriteFile(filepath.Join(lower, "etc/passwd"), []byte("web:x:1000:1000::/home/web:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(lower, "etc/group"), []byte("extra:x:2000:web\n"), 0o644)
	build := func(sc *runtimeapi.LinuxContainerSecurityContext) (*specs.Spec, error) {
		return ForContainer(Container{
			ID: "c", SandboxPid: 1, Rootfs: Rootfs{lower}, Sandbox: &runtimeapi.PodSandboxConfig{},
			Config: &runtimeapi.ContainerConfig{Command: []string{"x"}, Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: sc}},
		})
	}
	if _, err := build(&runtimeapi.LinuxContainerSecurityContext{RunAsGroup: &runtimeapi.Int64Value{Value: 5}}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("run-as group without user: %v", err)
	}
	s, err := build(&runtimeapi.LinuxContainerSecurityContext{RunAsUsername: "web", SupplementalGroups: []int64{3000}})
	if err != nil || s.Process.User.UID != 1000 || !slices.Equal(s.Process.User.AdditionalGids, []uint32{1000, 2000, 3000}) {
		t.Errorf("merge policy: %+v %v", s.Process.User, err)
	}
	s, err = build(&runtimeapi.LinuxContainerSecurityContext{RunAsUsername: "web", SupplementalGroups: []int64{3000},
		SupplementalGroupsPolicy: runtimeapi.SupplementalGroupsPolicy_Strict})
	if err != nil || !slices.Equal(s.Process.User.AdditionalGids, []uint32{1000, 3000}) {
		t.Errorf("strict policy: %+v %v", s.Process.User, err)
	}
}

func TestMountPropagationAndRecursiveReadOnly(t *testing.T) {
	src := t.TempDir()
	build := func(ms ...*runtimeapi.Mount) (*specs.Spec, error) {
		return ForContainer(Container{
			ID: "c", SandboxPid: 1, Rootfs: Rootfs{t.TempDir()}, Sandbox: &runtimeapi.PodSandboxConfig{},
			Config: &runtimeapi.ContainerConfig{Command: []string{"x"}, Mounts: ms},
		})
	}
	mount := func(s *specs.Spec, dst string) specs.Mount {
		for _, m := range s.Mounts {
			if m.Destination == dst {
				return m
			}
		}
		t.Fatalf("no mount at %s in %+v", dst, s.Mounts)
		return specs.Mount{}
	}
	for prop, want := range map[runtimeapi.MountPropagation]string{
		runtimeapi.MountPropagation_PROPAGATION_PRIVATE:           "",
		runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER: "rslave",
		runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL:     "rshared",
	} {
		s, err := build(&runtimeapi.Mount{HostPath: src, ContainerPath: "/m", Propagation: prop})
		if err != nil || s.Linux.RootfsPropagation != want {
			t.Errorf("%v: rootfs propagation %q, want %q (%v)", prop, s.Linux.RootfsPropagation, want, err)
		}
	}
	s, err := build(&runtimeapi.Mount{HostPath: src, ContainerPath: "/m", Readonly: true, RecursiveReadOnly: true})
	if err != nil || !slices.Contains(mount(s, "/m").Options, "rro") || slices.Contains(mount(s, "/m").Options, "rw") {
		t.Errorf("recursive read-only: %+v %v", s, err)
	}
	if _, err := build(&runtimeapi.Mount{HostPath: src, ContainerPath: "/m", RecursiveReadOnly: true}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("recursive read-only but writable: %v", err)
	}
	if _, err := build(&runtimeapi.Mount{HostPath: src, ContainerPath: "/m", Readonly: true, RecursiveReadOnly: true,
		Propagation: runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("recursive read-only but rslave: %v", err)
	}
}
