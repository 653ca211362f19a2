package spec

import (
	"fmt"
	"os"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ApplyResources sets a container's cgroup limits and oom_score_adj.
func ApplyResources(s *specs.Spec, r *runtimeapi.LinuxContainerResources) {
	if r == nil {
		return
	}
	s.Linux.Resources = Resources(r, s.Linux.Resources.Devices)
	if adj := int(r.GetOomScoreAdj()); adj != 0 {
		s.Process.OOMScoreAdj = &adj
	}
}

// Resources turns CRI resources into the runtime spec's (also what
// Tasks.Update is given).
func Resources(r *runtimeapi.LinuxContainerResources, devices []specs.LinuxDeviceCgroup) *specs.LinuxResources {
	out := &specs.LinuxResources{Devices: devices, CPU: &specs.LinuxCPU{}, Memory: &specs.LinuxMemory{}}
	if v := r.GetCpuShares(); v != 0 {
		u := uint64(v)
		out.CPU.Shares = &u
	}
	if v := r.GetCpuQuota(); v != 0 {
		out.CPU.Quota = &v
	}
	if v := r.GetCpuPeriod(); v != 0 {
		u := uint64(v)
		out.CPU.Period = &u
	}
	out.CPU.Cpus, out.CPU.Mems = r.GetCpusetCpus(), r.GetCpusetMems()
	if v := r.GetMemoryLimitInBytes(); v != 0 {
		out.Memory.Limit = &v
	}
	if v := r.GetMemorySwapLimitInBytes(); v != 0 {
		out.Memory.Swap = &v
	}
	for _, h := range r.GetHugepageLimits() {
		out.HugepageLimits = append(out.HugepageLimits, specs.LinuxHugepageLimit{Pagesize: h.GetPageSize(), Limit: h.GetLimit()})
	}
	if u := r.GetUnified(); len(u) > 0 {
		out.Unified = u
	}
	return out
}

// addDevices makes host devices appear in the container and allows them
// in its device cgroup.
func addDevices(s *specs.Spec, devs []*runtimeapi.Device, privileged bool) error {
	for _, d := range devs {
		var st unix.Stat_t
		if err := unix.Stat(d.GetHostPath(), &st); err != nil {
			return fmt.Errorf("device %q: %v: %w", d.GetHostPath(), err, errdefs.ErrInvalidArgument)
		}
		var typ string
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFBLK:
			typ = "b"
		case unix.S_IFCHR:
			typ = "c"
		default:
			return fmt.Errorf("%q is not a device: %w", d.GetHostPath(), errdefs.ErrInvalidArgument)
		}
		major, minor := int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
		mode := os.FileMode(st.Mode & 0o777)
		dst := d.GetContainerPath()
		if dst == "" {
			dst = d.GetHostPath()
		}
		s.Linux.Devices = append(s.Linux.Devices, specs.LinuxDevice{Path: dst, Type: typ, Major: major, Minor: minor,
			FileMode: &mode, UID: &st.Uid, GID: &st.Gid})
		perms := d.GetPermissions()
		if perms == "" {
			perms = "rwm"
		}
		if !privileged {
			s.Linux.Resources.Devices = append(s.Linux.Resources.Devices,
				specs.LinuxDeviceCgroup{Allow: true, Type: typ, Major: &major, Minor: &minor, Access: perms})
		}
	}
	return nil
}
