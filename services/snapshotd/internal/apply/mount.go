package apply

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/containerd/containerd/api/types"
	"github.com/containerd/errdefs"

	"berth.dev/pkg/mount"
	"golang.org/x/sys/unix"
)

// Target returns a directory where mounts can be written and a function to
// release it. A single bind mount is written in place; anything else
// (overlay) is mounted on a fresh directory under tmpRoot.
func Target(mounts []*types.Mount, tmpRoot string) (string, func() error, error) {
	if len(mounts) == 0 {
		return "", nil, fmt.Errorf("apply needs mounts: %w", errdefs.ErrInvalidArgument)
	}
	if len(mounts) == 1 && mounts[0].Type == "bind" && !hasOption(mounts[0].Options, "ro") {
		return mounts[0].Source, func() error { return nil }, nil
	}
	if err := os.MkdirAll(tmpRoot, 0o700); err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp(tmpRoot, "apply-")
	if err != nil {
		return "", nil, err
	}
	var mounted []string
	release := func() error {
		var first error
		for i := len(mounted) - 1; i >= 0; i-- {
			if err := unix.Unmount(mounted[i], unix.MNT_DETACH); err != nil && first == nil {
				first = err
			}
		}
		os.Remove(dir)
		return first
	}
	for _, m := range mounts {
		if err := mount.Mount(m, dir); err != nil {
			release()
			return "", nil, err
		}
		mounted = append(mounted, dir)
	}
	return dir, release, nil
}

func hasOption(opts []string, o string) bool {
	for _, x := range opts {
		if x == o {
			return true
		}
	}
	return false
}

// Sync flushes the filesystem holding dir once, instead of an fsync per
// file.
func Sync(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Syncfs(fd)
}

// SyncAbove fsyncs the n directories above dir, so that dir's name, and
// theirs, survive a crash once dir itself is synced.
func SyncAbove(dir string, n int) error {
	p := filepath.Clean(dir)
	for i := 0; i < n; i++ {
		p = filepath.Dir(p)
		if err := syncPath(p); err != nil {
			return err
		}
	}
	return nil
}
