package spec

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Annotations containerd puts on every CRI spec, read by runc hooks,
// NRI plugins and tools.
const (
	AnnotationContainerType = "io.kubernetes.cri.container-type"
	AnnotationSandboxID     = "io.kubernetes.cri.sandbox-id"
	AnnotationSandboxName   = "io.kubernetes.cri.sandbox-name"
	AnnotationSandboxNS     = "io.kubernetes.cri.sandbox-namespace"
	AnnotationSandboxUID    = "io.kubernetes.cri.sandbox-uid"
	AnnotationSandboxLogDir = "io.kubernetes.cri.sandbox-log-directory"
	AnnotationContainerName = "io.kubernetes.cri.container-name"
	AnnotationImageName     = "io.kubernetes.cri.image-name"
)

// sandboxCPUShares is the pause container's weight: it does nothing.
const sandboxCPUShares = 2

// sandboxOOMScoreAdj keeps the pause container alive longest under memory
// pressure (the kubelet's value; clamped to taskd's own by taskd).
const sandboxOOMScoreAdj = -998

// Sandbox is what the pause container's spec is built from.
type Sandbox struct {
	ID     string
	Config *runtimeapi.PodSandboxConfig
	Image  ocispec.ImageConfig
	// NetNS is the pinned network namespace; empty with host networking.
	NetNS       string
	CgroupsPath string
	// ShmDir is the pod's /dev/shm on the host (a tmpfs), bound into the
	// pause container and every container of the pod.
	ShmDir string
}

// ForSandbox builds the pause container's spec.
func ForSandbox(sb Sandbox) (*specs.Spec, error) {
	cfg := sb.Config
	s := baseSpec()
	args := append(append([]string{}, sb.Image.Entrypoint...), sb.Image.Cmd...)
	if len(args) == 0 {
		return nil, fmt.Errorf("sandbox image has neither entrypoint nor command: %w", errdefs.ErrInvalidArgument)
	}
	s.Process.Args = args
	s.Process.Env = withPath(sb.Image.Env)
	// The pause process needs no privileges it does not start with.
	s.Process.NoNewPrivileges = true
	// Nor the cgroup filesystem: containerd's sandbox spec has no
	// /sys/fs/cgroup, and on a cgroup v1 host runc mounts a tmpfs there
	// and binds every hierarchy into it, read-only, at each pod's start.
	s.Mounts = withoutMount(s.Mounts, "/sys/fs/cgroup")
	if sb.Image.WorkingDir != "" {
		s.Process.Cwd = sb.Image.WorkingDir
	}
	s.Hostname = cfg.GetHostname()
	s.Root.Readonly = true
	nsOpts := cfg.GetLinux().GetSecurityContext().GetNamespaceOptions()
	hostNet := nsOpts.GetNetwork() == runtimeapi.NamespaceMode_NODE
	setNamespace(s, specs.NetworkNamespace, sb.NetNS, hostNet)
	// A pod on the host network keeps the host's name too.
	setNamespace(s, specs.UTSNamespace, "", hostNet)
	setNamespace(s, specs.IPCNamespace, "", nsOpts.GetIpc() == runtimeapi.NamespaceMode_NODE)
	setNamespace(s, specs.PIDNamespace, "", nsOpts.GetPid() == runtimeapi.NamespaceMode_NODE)
	if hostNet {
		s.Hostname = ""
	}
	s.Mounts = append(s.Mounts, shmMount(sb.ShmDir))
	s.Linux.CgroupsPath = sb.CgroupsPath
	shares := uint64(sandboxCPUShares)
	s.Linux.Resources.CPU = &specs.LinuxCPU{Shares: &shares}
	adj := sandboxOOMScoreAdj
	s.Process.OOMScoreAdj = &adj
	sysctls, err := sandboxSysctls(cfg.GetLinux().GetSysctls(), hostNet, nsOpts.GetIpc() == runtimeapi.NamespaceMode_NODE)
	if err != nil {
		return nil, err
	}
	s.Linux.Sysctl = sysctls
	sc := cfg.GetLinux().GetSecurityContext()
	if sc.GetPrivileged() {
		privileged(s)
	}
	if u := sc.GetRunAsUser(); u != nil {
		s.Process.User.UID = uint32(u.GetValue())
	}
	if g := sc.GetRunAsGroup(); g != nil {
		s.Process.User.GID = uint32(g.GetValue())
	}
	for _, g := range sc.GetSupplementalGroups() {
		s.Process.User.AdditionalGids = append(s.Process.User.AdditionalGids, uint32(g))
	}
	if err := applySeccomp(s, sc.GetSeccomp(), sc.GetSeccompProfilePath(), sc.GetPrivileged()); err != nil {
		return nil, err
	}
	s.Annotations = map[string]string{
		AnnotationContainerType: "sandbox",
		AnnotationSandboxID:     sb.ID,
		AnnotationSandboxName:   cfg.GetMetadata().GetName(),
		AnnotationSandboxNS:     cfg.GetMetadata().GetNamespace(),
		AnnotationSandboxUID:    cfg.GetMetadata().GetUid(),
		AnnotationSandboxLogDir: cfg.GetLogDirectory(),
	}
	return s, nil
}

func withoutMount(ms []specs.Mount, dst string) []specs.Mount {
	var out []specs.Mount
	for _, m := range ms {
		if m.Destination != dst {
			out = append(out, m)
		}
	}
	return out
}

func shmMount(dir string) specs.Mount {
	if dir == "" {
		return specs.Mount{Destination: "/dev/shm", Type: "bind", Source: "/dev/shm", Options: []string{"rbind", "ro"}}
	}
	return specs.Mount{Destination: "/dev/shm", Type: "bind", Source: dir, Options: []string{"rbind", "rw"}}
}

// sandboxSysctls adds containerd's network defaults and refuses sysctls of
// namespaces the pod shares with the host: they would change the node.
func sandboxSysctls(in map[string]string, hostNet, hostIPC bool) (map[string]string, error) {
	out := map[string]string{}
	if !hostNet {
		// containerd's defaults (enable_unprivileged_ports and _icmp): in
		// its own network namespace a pod's non-root processes may bind
		// low ports and ping, unless the pod sets these itself.
		out["net.ipv4.ip_unprivileged_port_start"] = "0"
		if !runningInUserNS() {
			out["net.ipv4.ping_group_range"] = "0 2147483647"
		}
	}
	for k, v := range in {
		switch {
		case hostNet && strings.HasPrefix(k, "net."):
			return nil, fmt.Errorf("sysctl %q needs the pod's own network namespace: %w", k, errdefs.ErrInvalidArgument)
		case hostIPC && (strings.HasPrefix(k, "kernel.shm") || strings.HasPrefix(k, "kernel.msg") || k == "kernel.sem" || strings.HasPrefix(k, "fs.mqueue.")):
			return nil, fmt.Errorf("sysctl %q needs the pod's own IPC namespace: %w", k, errdefs.ErrInvalidArgument)
		}
		out[k] = v
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// runningInUserNS tells whether Berth itself runs in a user namespace,
// where a pod's ping_group_range cannot name groups outside its map.
var runningInUserNS = sync.OnceValue(func() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return !(len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295")
})

func withPath(env []string) []string {
	for _, e := range env {
		if strings.HasPrefix(e, "PATH=") {
			return append([]string{}, env...)
		}
	}
	return append([]string{defaultPath}, env...)
}

// privileged gives every capability and lifts masks and read-only paths.
func privileged(s *specs.Spec) {
	all := PrivilegedCapabilities()
	s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: all, Permitted: all, Effective: all}
	s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = nil, nil
	s.Linux.Resources.Devices = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
	for i, m := range s.Mounts {
		if m.Type == "sysfs" || m.Type == "cgroup" {
			s.Mounts[i].Options = without(m.Options, "ro")
			s.Mounts[i].Options = append(s.Mounts[i].Options, "rw")
		}
	}
}

func without(opts []string, drop string) []string {
	var out []string
	for _, o := range opts {
		if o != drop {
			out = append(out, o)
		}
	}
	return out
}

// CgroupsPath places a container under its parent: systemd's
// slice:prefix:name form or a cgroupfs path.
func CgroupsPath(parent, id string, systemd bool) string {
	if systemd {
		if parent == "" {
			parent = "system.slice"
		}
		return parent + ":cri-berth:" + id
	}
	if parent == "" {
		return "/k8s.io/" + id
	}
	return strings.TrimSuffix(parent, "/") + "/" + id
}
