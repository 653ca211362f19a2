package apply

import (
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// whiteout handles ".wh.<name>" (name deleted in this layer) and
// ".wh..wh..opq" (the directory's lower contents hidden).
func (a *applier) whiteout(name, base string) error {
	dir, err := a.resolve(filepath.Dir(filepath.Clean("/" + name)))
	if err != nil {
		return err
	}
	if base == whiteoutOpaque {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		a.written.add(dir)
		if a.opts.Overlay {
			return unix.Lsetxattr(dir, "trusted.overlay.opaque", []byte("y"), 0)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
		return nil
	}
	target := filepath.Join(dir, strings.TrimPrefix(base, whiteoutPrefix))
	if err := os.RemoveAll(target); err != nil {
		return err
	}
	a.written.add(dir)
	if a.opts.Overlay {
		// fsync cannot reach a device node.
		a.written.giveUp()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		// An overlay whiteout is a 0/0 character device.
		return unix.Mknod(target, unix.S_IFCHR, 0)
	}
	return nil
}
