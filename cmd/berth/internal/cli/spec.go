package cli

import (
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// specOptions turns run's flags into OCI spec options over the image's
// configuration.
func specOptions(f *runFlags, img containerd.Image, id string, args []string, net *netState) ([]oci.SpecOpts, error) {
	env, err := f.environment()
	if err != nil {
		return nil, err
	}
	mem, err := memoryBytes(f.memory)
	if err != nil {
		return nil, err
	}
	if f.cpus < 0 || f.pidsLimit < 0 {
		return nil, invalid("--cpus and --pids-limit cannot be negative")
	}
	hostname := f.hostname
	if hostname == "" {
		hostname = id
		if len(hostname) > 63 {
			hostname = hostname[:63]
		}
	}
	opts := []oci.SpecOpts{oci.WithImageConfigArgs(img, args), oci.WithHostname(hostname)}
	if len(env) > 0 {
		opts = append(opts, oci.WithEnv(env))
	}
	if f.workdir != "" {
		opts = append(opts, oci.WithProcessCwd(f.workdir))
	}
	if f.user != "" {
		opts = append(opts, oci.WithUser(f.user))
	}
	if f.tty {
		opts = append(opts, oci.WithTTY)
	}
	if mem > 0 {
		opts = append(opts, oci.WithMemoryLimit(uint64(mem)))
	}
	if f.cpus > 0 {
		const period = 100000
		opts = append(opts, oci.WithCPUCFS(int64(f.cpus*period), period))
	}
	if f.pidsLimit > 0 {
		opts = append(opts, oci.WithPidsLimit(f.pidsLimit))
	}
	if f.readOnly {
		opts = append(opts, oci.WithRootFSReadonly())
	}
	capOpts, err := capabilities(f.capAdd, f.capDrop)
	if err != nil {
		return nil, err
	}
	opts = append(opts, capOpts...)
	var mounts []specs.Mount
	for _, v := range f.volumes {
		m, err := parseVolume(v)
		if err != nil {
			return nil, err
		}
		mode := "rw"
		if m.readOnly {
			mode = "ro"
		}
		mounts = append(mounts, specs.Mount{Type: "bind", Source: m.source, Destination: m.target, Options: []string{"rbind", mode}})
	}
	if len(mounts) > 0 {
		opts = append(opts, oci.WithMounts(mounts))
	}
	return append(opts, net.specOptions()...), nil
}

// capabilities normalises names (net_admin, NET_ADMIN, CAP_NET_ADMIN) and
// honours ALL in --cap-drop and --cap-add.
func capabilities(add, drop []string) ([]oci.SpecOpts, error) {
	norm := func(list []string) ([]string, bool, error) {
		var out []string
		all := false
		for _, c := range list {
			c = strings.ToUpper(strings.TrimSpace(c))
			if c == "ALL" {
				all = true
				continue
			}
			if !strings.HasPrefix(c, "CAP_") {
				c = "CAP_" + c
			}
			if len(c) <= 4 || strings.ContainsAny(c, " -") {
				return nil, false, invalid("capability %q", c)
			}
			out = append(out, c)
		}
		return out, all, nil
	}
	addCaps, addAll, err := norm(add)
	if err != nil {
		return nil, err
	}
	dropCaps, dropAll, err := norm(drop)
	if err != nil {
		return nil, err
	}
	var opts []oci.SpecOpts
	switch {
	case addAll:
		opts = append(opts, oci.WithAllCurrentCapabilities)
	case dropAll:
		opts = append(opts, oci.WithCapabilities(nil))
	}
	if len(dropCaps) > 0 {
		opts = append(opts, oci.WithDroppedCapabilities(dropCaps))
	}
	if len(addCaps) > 0 {
		opts = append(opts, oci.WithAddedCapabilities(addCaps))
	}
	return opts, nil
}
