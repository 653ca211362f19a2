package shim

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	runc "github.com/containerd/go-runc"
	"golang.org/x/sys/unix"
)

// EnvLegacyViewRuntime, in the environment of a berth-shim invocation,
// makes it run that runtime (the arguments passed through) in a mount
// namespace of its own without the host's unified cgroup mount: crun
// rejects hybrid cgroup hosts whose unified hierarchy holds controllers,
// and uses the v1 hierarchies, as runc does there, once it cannot see it.
const EnvLegacyViewRuntime = "BERTH_SHIM_LEGACY_VIEW_RUNTIME"

// legacyView points r at this binary, which runs the runtime in the
// legacy cgroup view; the context it returns carries the variable.
func legacyView(r *runc.Runc, runtime string) (context.Context, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	r.Command = exe
	return runc.WithExtraEnv(context.Background(), EnvLegacyViewRuntime+"="+runtime), nil
}

// ExecLegacyView replaces the process with runtime and args in a new mount
// namespace where /sys/fs/cgroup/unified is not mounted. The calling
// goroutine must be locked to the main thread (berth-shim's init does it):
// the namespace is the thread's, and exec keeps it.
func ExecLegacyView(runtime string, args []string) error {
	os.Unsetenv(EnvLegacyViewRuntime)
	path, err := exec.LookPath(runtime)
	if err != nil {
		return err
	}
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("unshare mount namespace: %w", err)
	}
	// The cgroup root stops being a peer of the host's first, so the
	// unmount below stays in this namespace whatever the host's propagation.
	if err := unix.Mount("", "/sys/fs/cgroup", "", unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make the cgroup root private: %w", err)
	}
	if err := unix.Unmount("/sys/fs/cgroup/unified", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("hide the unified cgroup hierarchy: %w", err)
	}
	return syscall.Exec(path, append([]string{filepath.Base(path)}, args...), os.Environ())
}
