package apply

import (
	"fmt"
	"os"
	"strings"

	"github.com/containerd/containerd/api/types"
	"github.com/containerd/errdefs"
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
		if err := Mount(m, dir); err != nil {
			release()
			return "", nil, err
		}
		mounted = append(mounted, dir)
	}
	return dir, release, nil
}

// Mount mounts m on target.
func Mount(m *types.Mount, target string) error {
	var flags uintptr
	var data []string
	for _, o := range m.Options {
		switch o {
		case "ro":
			flags |= unix.MS_RDONLY
		case "rw":
		case "bind":
			flags |= unix.MS_BIND
		case "rbind":
			flags |= unix.MS_BIND | unix.MS_REC
		default:
			data = append(data, o)
		}
	}
	typ := m.Type
	if typ == "bind" {
		flags |= unix.MS_BIND
	}
	if err := unix.Mount(m.Source, target, typ, flags&^unix.MS_RDONLY, strings.Join(data, ",")); err != nil {
		return fmt.Errorf("mount %s on %s: %w", m.Type, target, err)
	}
	if flags&unix.MS_BIND != 0 && flags&unix.MS_RDONLY != 0 {
		// A bind mount only becomes read-only on remount.
		if err := unix.Mount("", target, "", flags|unix.MS_REMOUNT, ""); err != nil {
			unix.Unmount(target, unix.MNT_DETACH)
			return fmt.Errorf("remount %s read-only: %w", target, err)
		}
	}
	return nil
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
