package spec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Container is what a container's spec is built from.
type Container struct {
	ID         string
	Config     *runtimeapi.ContainerConfig
	Sandbox    *runtimeapi.PodSandboxConfig
	SandboxID  string
	SandboxPid uint32
	// TargetPid is the pid of the container whose pid namespace a
	// TARGET namespace option names.
	TargetPid uint32
	Image     ocispec.ImageConfig
	ImageName string
	Rootfs    Rootfs
	// Files are the pod's shared files on the host: hostname,
	// resolv.conf, hosts (empty paths are not mounted).
	Hostname, ResolvConf, Hosts string
	ShmDir                      string
	CgroupsPath                 string
}

// ForContainer builds a container's spec.
func ForContainer(c Container) (*specs.Spec, error) {
	cfg := c.Config
	s := baseSpec()
	args, err := ProcessArgs(cfg.GetCommand(), cfg.GetArgs(), c.Image)
	if err != nil {
		return nil, err
	}
	s.Process.Args = args
	s.Process.Terminal = cfg.GetTty()
	s.Process.Cwd = firstOf(cfg.GetWorkingDir(), c.Image.WorkingDir, "/")
	s.Process.Env = mergeEnv(withPath(c.Image.Env), cfg.GetEnvs())
	sc := cfg.GetLinux().GetSecurityContext()
	if err := setUser(s, c.Rootfs, sc, c.Image.User); err != nil {
		return nil, err
	}
	if !hasEnv(s.Process.Env, "HOSTNAME") && c.Sandbox.GetHostname() != "" {
		s.Process.Env = append(s.Process.Env, "HOSTNAME="+c.Sandbox.GetHostname())
	}
	s.Root.Readonly = sc.GetReadonlyRootfs()
	if err := setNamespaces(s, c, sc.GetNamespaceOptions()); err != nil {
		return nil, err
	}
	s.Mounts = append(s.Mounts, podFileMounts(c)...)
	mounts, err := userMounts(cfg.GetMounts())
	if err != nil {
		return nil, err
	}
	s.Mounts = mergeMounts(s.Mounts, mounts)
	s.Linux.RootfsPropagation = rootfsPropagation(cfg.GetMounts())
	if err := setSecurity(s, sc); err != nil {
		return nil, err
	}
	if err := addDevices(s, cfg.GetDevices(), sc.GetPrivileged()); err != nil {
		return nil, err
	}
	s.Linux.CgroupsPath = c.CgroupsPath
	ApplyResources(s, cfg.GetLinux().GetResources())
	s.Annotations = map[string]string{
		AnnotationContainerType: "container",
		AnnotationSandboxID:     c.SandboxID,
		AnnotationSandboxName:   c.Sandbox.GetMetadata().GetName(),
		AnnotationSandboxNS:     c.Sandbox.GetMetadata().GetNamespace(),
		AnnotationSandboxUID:    c.Sandbox.GetMetadata().GetUid(),
		AnnotationContainerName: cfg.GetMetadata().GetName(),
		AnnotationImageName:     c.ImageName,
	}
	for k, v := range cfg.GetAnnotations() {
		if _, ok := s.Annotations[k]; !ok {
			s.Annotations[k] = v
		}
	}
	return s, nil
}

// ProcessArgs joins the CRI command and args with the image's entrypoint
// and cmd as the kubelet defines it: a command replaces the entrypoint
// (and then the image's cmd is dropped), args replace the cmd.
func ProcessArgs(command, args []string, img ocispec.ImageConfig) ([]string, error) {
	if len(command) == 0 {
		if len(args) == 0 {
			args = append([]string{}, img.Cmd...)
		}
		if command == nil && !(len(img.Entrypoint) == 1 && img.Entrypoint[0] == "") {
			command = append([]string{}, img.Entrypoint...)
		}
	}
	out := append(append([]string{}, command...), args...)
	if len(out) == 0 {
		return nil, fmt.Errorf("no command specified and the image has neither entrypoint nor cmd: %w", errdefs.ErrInvalidArgument)
	}
	return out, nil
}

func firstOf(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// mergeEnv overrides the image's variables with the config's, keeping the
// image's order.
func mergeEnv(base []string, kvs []*runtimeapi.KeyValue) []string {
	out := append([]string{}, base...)
	idx := map[string]int{}
	for i, e := range out {
		k, _, _ := strings.Cut(e, "=")
		idx[k] = i
	}
	for _, kv := range kvs {
		e := kv.GetKey() + "=" + string(kv.GetValue())
		if i, ok := idx[kv.GetKey()]; ok {
			out[i] = e
			continue
		}
		idx[kv.GetKey()] = len(out)
		out = append(out, e)
	}
	return out
}

func hasEnv(env []string, key string) bool {
	for _, e := range env {
		if strings.HasPrefix(e, key+"=") {
			return true
		}
	}
	return false
}

func setUser(s *specs.Spec, rootfs Rootfs, sc *runtimeapi.LinuxContainerSecurityContext, imageUser string) error {
	spec := imageUser
	if name := sc.GetRunAsUsername(); name != "" {
		spec = name
	} else if u := sc.GetRunAsUser(); u != nil {
		spec = fmt.Sprint(u.GetValue())
	}
	if g := sc.GetRunAsGroup(); g != nil {
		if sc.GetRunAsUser() == nil && sc.GetRunAsUsername() == "" {
			return fmt.Errorf("run-as group %d without a run-as user: %w", g.GetValue(), errdefs.ErrInvalidArgument)
		}
		user, _, _ := strings.Cut(spec, ":")
		spec = user + ":" + fmt.Sprint(g.GetValue())
	}
	u, err := rootfs.ResolveUser(spec)
	if err != nil {
		return err
	}
	// As containerd: the primary group is a supplementary group too (so
	// ContainerStatus and `id -G` agree), then the image's groups for the
	// user (unless the policy is Strict), then the pod's, each once.
	gids := []uint32{u.GID}
	if sc.GetSupplementalGroupsPolicy() != runtimeapi.SupplementalGroupsPolicy_Strict {
		gids = append(gids, u.AdditionalGids...)
	}
	for _, g := range sc.GetSupplementalGroups() {
		gids = append(gids, uint32(g))
	}
	s.Process.User = specs.User{UID: u.UID, GID: u.GID}
	for _, g := range gids {
		if !slices.Contains(s.Process.User.AdditionalGids, g) {
			s.Process.User.AdditionalGids = append(s.Process.User.AdditionalGids, g)
		}
	}
	if u.Home != "" && !hasEnv(s.Process.Env, "HOME") {
		s.Process.Env = append(s.Process.Env, "HOME="+u.Home)
	}
	return nil
}

// setNamespaces joins the pod's namespaces through its pause process.
func setNamespaces(s *specs.Spec, c Container, opts *runtimeapi.NamespaceOption) error {
	if c.SandboxPid == 0 {
		return fmt.Errorf("sandbox %s has no running pause process: %w", c.SandboxID, errdefs.ErrFailedPrecondition)
	}
	ns := func(kind string) string { return fmt.Sprintf("/proc/%d/ns/%s", c.SandboxPid, kind) }
	setNamespace(s, specs.NetworkNamespace, ns("net"), opts.GetNetwork() == runtimeapi.NamespaceMode_NODE)
	setNamespace(s, specs.IPCNamespace, ns("ipc"), opts.GetIpc() == runtimeapi.NamespaceMode_NODE)
	setNamespace(s, specs.UTSNamespace, ns("uts"), opts.GetNetwork() == runtimeapi.NamespaceMode_NODE)
	switch opts.GetPid() {
	case runtimeapi.NamespaceMode_NODE:
		setNamespace(s, specs.PIDNamespace, "", true)
	case runtimeapi.NamespaceMode_POD:
		setNamespace(s, specs.PIDNamespace, ns("pid"), false)
	case runtimeapi.NamespaceMode_TARGET:
		if opts.GetTargetId() == "" {
			return fmt.Errorf("target pid namespace without a target: %w", errdefs.ErrInvalidArgument)
		}
		if c.TargetPid == 0 {
			return fmt.Errorf("target container %s is not running: %w", opts.GetTargetId(), errdefs.ErrFailedPrecondition)
		}
		setNamespace(s, specs.PIDNamespace, fmt.Sprintf("/proc/%d/ns/pid", c.TargetPid), false)
	}
	return nil
}

func podFileMounts(c Container) []specs.Mount {
	var out []specs.Mount
	for dst, src := range map[string]string{"/etc/hostname": c.Hostname, "/etc/resolv.conf": c.ResolvConf, "/etc/hosts": c.Hosts} {
		if src != "" {
			out = append(out, specs.Mount{Destination: dst, Type: "bind", Source: src, Options: []string{"rbind", "rprivate", "rw"}})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Destination < out[j].Destination })
	return append(out, shmMount(c.ShmDir))
}

var propagation = map[runtimeapi.MountPropagation]string{
	runtimeapi.MountPropagation_PROPAGATION_PRIVATE:           "rprivate",
	runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER: "rslave",
	runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL:     "rshared",
}

// rootfsPropagation is the propagation of the container's root: a
// bidirectional mount needs it shared, or mounts made inside the container
// stay in a slave copy the host never sees; a host-to-container one needs
// at least slave. Otherwise runc's default (rprivate) applies.
func rootfsPropagation(ms []*runtimeapi.Mount) string {
	out := ""
	for _, m := range ms {
		switch m.GetPropagation() {
		case runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL:
			return "rshared"
		case runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER:
			out = "rslave"
		}
	}
	return out
}

func userMounts(ms []*runtimeapi.Mount) ([]specs.Mount, error) {
	var out []specs.Mount
	for _, m := range ms {
		if !filepath.IsAbs(m.GetContainerPath()) {
			return nil, fmt.Errorf("mount destination %q is not absolute: %w", m.GetContainerPath(), errdefs.ErrInvalidArgument)
		}
		if m.GetImage() != nil && m.GetImage().GetImage() != "" {
			return nil, fmt.Errorf("image volumes: %w", errdefs.ErrNotImplemented)
		}
		// As containerd (and the kubelet's hostPath DirectoryOrCreate
		// before it): a missing source becomes a directory.
		if _, err := os.Stat(m.GetHostPath()); errors.Is(err, os.ErrNotExist) && filepath.IsAbs(m.GetHostPath()) {
			if err := os.MkdirAll(m.GetHostPath(), 0o755); err != nil {
				return nil, fmt.Errorf("create mount source %q: %w", m.GetHostPath(), err)
			}
		}
		src, err := filepath.EvalSymlinks(m.GetHostPath())
		if err != nil {
			return nil, fmt.Errorf("mount source %q: %v: %w", m.GetHostPath(), err, errdefs.ErrInvalidArgument)
		}
		rw := "rw"
		if m.GetReadonly() {
			rw = "ro"
		}
		prop, ok := propagation[m.GetPropagation()]
		if !ok {
			return nil, fmt.Errorf("mount propagation %v: %w", m.GetPropagation(), errdefs.ErrInvalidArgument)
		}
		if m.GetRecursiveReadOnly() {
			// runc makes "rro" read-only with mount_setattr(2), submounts
			// included; a writable or propagating mount contradicts it.
			if !m.GetReadonly() {
				return nil, fmt.Errorf("recursive read-only mount %q must also be read-only: %w", m.GetContainerPath(), errdefs.ErrInvalidArgument)
			}
			if m.GetPropagation() != runtimeapi.MountPropagation_PROPAGATION_PRIVATE {
				return nil, fmt.Errorf("recursive read-only mount %q must be private, not %v: %w", m.GetContainerPath(), m.GetPropagation(), errdefs.ErrInvalidArgument)
			}
			rw = "rro"
		}
		out = append(out, specs.Mount{Destination: m.GetContainerPath(), Type: "bind", Source: src, Options: []string{"rbind", prop, rw}})
	}
	return out, nil
}

// mergeMounts lets the config's mounts replace defaults at the same
// destination (and everything under it, like a /dev bind), and orders
// mounts so parents come before children.
func mergeMounts(base, user []specs.Mount) []specs.Mount {
	var out []specs.Mount
	for _, b := range base {
		shadowed := false
		for _, u := range user {
			if filepath.Clean(b.Destination) == filepath.Clean(u.Destination) || strings.HasPrefix(b.Destination, filepath.Clean(u.Destination)+"/") {
				shadowed = true
				break
			}
		}
		if !shadowed {
			out = append(out, b)
		}
	}
	out = append(out, user...)
	sort.SliceStable(out, func(i, j int) bool {
		return strings.Count(filepath.Clean(out[i].Destination), "/") < strings.Count(filepath.Clean(out[j].Destination), "/")
	})
	return out
}

func setSecurity(s *specs.Spec, sc *runtimeapi.LinuxContainerSecurityContext) error {
	if sc.GetPrivileged() {
		privileged(s)
		s.Linux.Devices = hostDevices()
	} else {
		caps, err := adjustCapabilities(DefaultCapabilities(), sc.GetCapabilities().GetAddCapabilities(), sc.GetCapabilities().GetDropCapabilities())
		if err != nil {
			return err
		}
		// Ambient capabilities only for non-root users asking for them.
		s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Permitted: caps, Effective: caps}
		if amb := sc.GetCapabilities().GetAddAmbientCapabilities(); len(amb) > 0 {
			a, err := adjustCapabilities(nil, amb, nil)
			if err != nil {
				return err
			}
			s.Process.Capabilities.Ambient = a
			s.Process.Capabilities.Inheritable = a
		}
		if sc != nil && sc.MaskedPaths != nil {
			s.Linux.MaskedPaths = sc.GetMaskedPaths()
		}
		if sc != nil && sc.ReadonlyPaths != nil {
			s.Linux.ReadonlyPaths = sc.GetReadonlyPaths()
		}
	}
	s.Process.NoNewPrivileges = sc.GetNoNewPrivs()
	return applySeccomp(s, sc.GetSeccomp(), sc.GetSeccompProfilePath(), sc.GetPrivileged())
}
