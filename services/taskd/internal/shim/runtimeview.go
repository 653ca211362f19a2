package shim

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// inLegacyView runs fn on a thread of its own in a new mount namespace
// where /sys/fs/cgroup/unified is not mounted, so that a runtime fn starts
// inherits it: crun rejects hybrid cgroup hosts whose unified hierarchy
// holds controllers, and places the container in the v1 hierarchies, as
// runc does there, once it cannot see it. A mount namespace belongs to a
// thread, and a process started from the thread gets it; the thread is
// never handed back (the goroutine ends locked), so it ends with fn and
// its namespace with it: no copy of the host's mounts outlives the call.
func inLegacyView(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := enterLegacyView(); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	return <-errc
}

func enterLegacyView() error {
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
	return nil
}
