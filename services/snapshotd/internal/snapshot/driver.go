package snapshot

import (
	"fmt"
	"os"
	"os/exec"
	"strings"

	api "github.com/containerd/containerd/api/services/snapshots/v1"
	"github.com/containerd/containerd/api/types"
)

// driver is what differs between snapshotters.
type driver interface {
	// prepare fills a new snapshot's directory from its parents' (nearest
	// first).
	prepare(fs string, parents []string) error
	// mounts returns how to mount a snapshot.
	mounts(kind api.Kind, fs, work string, parents []string) []*types.Mount
}

type overlay struct{}

func (overlay) prepare(string, []string) error { return nil }

func (overlay) mounts(kind api.Kind, fs, work string, parents []string) []*types.Mount {
	if len(parents) == 0 {
		opt := "rw"
		if kind == api.Kind_VIEW {
			opt = "ro"
		}
		return []*types.Mount{{Type: "bind", Source: fs, Options: []string{opt, "rbind"}}}
	}
	if kind == api.Kind_VIEW {
		if len(parents) == 1 {
			return []*types.Mount{{Type: "bind", Source: parents[0], Options: []string{"ro", "rbind"}}}
		}
		return []*types.Mount{{Type: "overlay", Source: "overlay", Options: []string{"lowerdir=" + strings.Join(parents, ":")}}}
	}
	return []*types.Mount{{Type: "overlay", Source: "overlay", Options: []string{
		"workdir=" + work, "upperdir=" + fs, "lowerdir=" + strings.Join(parents, ":"),
	}}}
}

type native struct{}

func (native) prepare(fs string, parents []string) error {
	if len(parents) == 0 {
		return nil
	}
	// cp -a keeps owners, modes, xattrs, hardlinks and device nodes.
	if out, err := exec.Command("cp", "-a", "--reflink=auto", parents[0]+"/.", fs).CombinedOutput(); err != nil {
		return fmt.Errorf("copy parent: %v: %s", err, out)
	}
	return nil
}

func (native) mounts(kind api.Kind, fs, _ string, _ []string) []*types.Mount {
	opt := "rw"
	if kind == api.Kind_VIEW {
		opt = "ro"
	}
	return []*types.Mount{{Type: "bind", Source: fs, Options: []string{opt, "rbind"}}}
}

// OverlaySupported reports whether the kernel offers overlayfs.
func OverlaySupported() error {
	b, err := os.ReadFile("/proc/filesystems")
	if err != nil {
		return err
	}
	if !strings.Contains(string(b), "\toverlay\n") {
		return fmt.Errorf("overlay filesystem not available")
	}
	return nil
}
