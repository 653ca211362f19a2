package task

import (
	"fmt"

	"github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
	"github.com/containerd/errdefs"
	"google.golang.org/protobuf/proto"

	"berth.dev/services/taskd/internal/shim"
)

// cgroupMetrics reads the container's figures from its cgroup, as
// containerd's shim does: no runtime process per call, and the same for
// every runtime (crun has no `events --stats`). ok is false when the spec
// names no cgroup.
func cgroupMetrics(bundle string) (_ proto.Message, ok bool, _ error) {
	path := shim.CgroupDir(bundle)
	if path == "" {
		return nil, false, nil
	}
	if cgroups.Mode() == cgroups.Unified {
		mgr, err := cgroup2.Load(path)
		if err != nil {
			return nil, true, cgroupErr(path, err)
		}
		st, err := mgr.Stat()
		if err != nil {
			return nil, true, cgroupErr(path, err)
		}
		return st, true, nil
	}
	cg, err := cgroup1.Load(cgroup1.StaticPath(path))
	if err != nil {
		return nil, true, cgroupErr(path, err)
	}
	st, err := cg.Stat(cgroup1.IgnoreNotExist)
	if err != nil {
		return nil, true, cgroupErr(path, err)
	}
	return st, true, nil
}

func cgroupErr(path string, err error) error {
	if err == cgroup1.ErrCgroupDeleted {
		return fmt.Errorf("cgroup %s: %v: %w", path, err, errdefs.ErrNotFound)
	}
	return fmt.Errorf("cgroup %s: %w", path, err)
}
