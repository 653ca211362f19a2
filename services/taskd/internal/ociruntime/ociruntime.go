package ociruntime

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

// Runtimes taskd knows by name (CRI runtime handlers use these names).
const (
	Runc = "runc"
	Crun = "crun"
)

// Default is the runtime of containers that name none: configured when
// set, else crun when it is on PATH, else runc.
func Default(configured string) string {
	if configured != "" {
		return configured
	}
	if _, err := exec.LookPath(Crun); err == nil {
		return Crun
	}
	return Runc
}

// Check tells whether bin names a runtime that can be run: a bad
// BinaryName is the caller's error, reported before a shim starts.
func Check(bin string) error {
	if bin == "" {
		return fmt.Errorf("empty runtime binary: %w", errdefs.ErrInvalidArgument)
	}
	if _, err := exec.LookPath(bin); err != nil {
		return fmt.Errorf("runtime binary %q: %v: %w", bin, err, errdefs.ErrInvalidArgument)
	}
	return nil
}

// Name is the runtime's short name (the binary's base name), which keeps
// each runtime's state under a root of its own.
func Name(bin string) string { return filepath.Base(bin) }

var (
	hybridOnce sync.Once
	hybridBusy bool
)

// LegacyCgroupView says whether bin must run without the host's unified
// cgroup mount: crun on a hybrid host whose unified hierarchy has
// controllers, which crun rejects ("cgroups in hybrid mode not supported").
func LegacyCgroupView(bin string) bool {
	if !strings.HasPrefix(Name(bin), Crun) {
		return false
	}
	hybridOnce.Do(func() { hybridBusy = hybridWithControllers("/sys/fs/cgroup") })
	return hybridBusy
}

func hybridWithControllers(root string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err != nil || st.Type != unix.TMPFS_MAGIC {
		return false // unified (v2) or no cgroups: nothing to hide
	}
	if err := unix.Statfs(filepath.Join(root, "unified"), &st); err != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
		return false // legacy v1
	}
	b, err := os.ReadFile(filepath.Join(root, "unified", "cgroup.controllers"))
	return err == nil && len(strings.TrimSpace(string(b))) > 0
}

// specVersionCrun is the runtime-spec version written for crun when the
// container's is newer than crun accepts.
const specVersionCrun = "1.0.2-dev"

// SpecVersion is the ociVersion to write in the bundle for bin: crun
// before 1.15 refuses every version but 1.0.x ("unknown version
// specified") while today's clients write 1.1 to 1.3 specs. runc takes any
// version, and both ignore fields they do not know, so crun gets the spec
// as 1.0.2: what it does with it is what runc 1.1 does with a newer spec.
func SpecVersion(bin, version string) string {
	if strings.HasPrefix(Name(bin), Crun) && version != "" && !strings.Contains(version, "1.0") {
		return specVersionCrun
	}
	return version
}
