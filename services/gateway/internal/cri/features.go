package cri

import (
	"context"
	"encoding/json"
	"os/exec"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// runtimeBinary is the OCI runtime taskd's shims drive (found on PATH).
const runtimeBinary = "runc"

var (
	rroOnce      sync.Once
	rroSupported bool
)

// recursiveReadOnlySupported says whether "rro" mounts work here: the
// runtime must list the option in `runc features`, and the kernel must
// have mount_setattr(2) (5.12), which runc uses to apply it. Probed once:
// neither changes while the gateway runs.
func recursiveReadOnlySupported() bool {
	rroOnce.Do(func() { rroSupported = kernelHasMountSetattr() && runtimeHasMountOption("rro") })
	return rroSupported
}

func kernelHasMountSetattr() bool {
	// An empty path with no flags is EINVAL/EBADF where the call exists,
	// ENOSYS where it does not.
	err := unix.MountSetattr(-1, "", 0, &unix.MountAttr{})
	return err != unix.ENOSYS
}

func runtimeHasMountOption(opt string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, runtimeBinary, "features").Output()
	if err != nil {
		return false
	}
	var f struct {
		MountOptions []string `json:"mountOptions"`
	}
	if json.Unmarshal(out, &f) != nil {
		return false
	}
	return slices.Contains(f.MountOptions, opt)
}
