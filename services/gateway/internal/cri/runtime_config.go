package cri

import (
	"context"
	"os"
	"sync"

	"golang.org/x/sys/unix"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// runtimeState is what the kubelet tells the runtime at run time.
type runtimeState struct {
	mu   sync.Mutex
	cidr string
}

func (r *runtimeState) podCIDR() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cidr
}

// UpdateRuntimeConfig records the node's pod CIDR (for the verbose status;
// CNI configurations carry their own ranges).
func (s *RuntimeService) UpdateRuntimeConfig(ctx context.Context, req *runtimeapi.UpdateRuntimeConfigRequest) (*runtimeapi.UpdateRuntimeConfigResponse, error) {
	s.runtimeCfg.mu.Lock()
	s.runtimeCfg.cidr = req.GetRuntimeConfig().GetNetworkConfig().GetPodCidr()
	s.runtimeCfg.mu.Unlock()
	return &runtimeapi.UpdateRuntimeConfigResponse{}, nil
}

// RuntimeConfig tells the kubelet which cgroup driver pods use.
func (s *RuntimeService) RuntimeConfig(ctx context.Context, req *runtimeapi.RuntimeConfigRequest) (*runtimeapi.RuntimeConfigResponse, error) {
	driver := runtimeapi.CgroupDriver_CGROUPFS
	if s.SystemdCgroup {
		driver = runtimeapi.CgroupDriver_SYSTEMD
	}
	return &runtimeapi.RuntimeConfigResponse{Linux: &runtimeapi.LinuxRuntimeConfiguration{CgroupDriver: driver}}, nil
}

// DetectSystemdCgroup resolves a cgroup driver setting: "systemd" and
// "cgroupfs" are taken as said; "auto" (or empty) picks systemd when
// systemd runs the host on the unified cgroup v2 hierarchy, as the kubelet
// recommends there.
func DetectSystemdCgroup(setting string) bool {
	switch setting {
	case "systemd":
		return true
	case "cgroupfs":
		return false
	}
	if _, err := os.Stat("/run/systemd/system"); err != nil {
		return false
	}
	var st unix.Statfs_t
	return unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
}
