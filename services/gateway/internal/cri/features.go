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

// Runtime handlers: "" is taskd's default runtime (crun where installed,
// else runc, or BERTH_RUNTIME_BINARY), the others name their binary.
const (
	handlerRunc = "runc"
	handlerCrun = "crun"
)

// Handlers lists the runtime handlers this node offers: crun only where
// it is installed.
func Handlers() []string {
	hs := []string{"", handlerRunc}
	if _, err := exec.LookPath(handlerCrun); err == nil {
		hs = append(hs, handlerCrun)
	}
	return hs
}

// handler is the runtime handler a pod asking for h runs with.
func (s *RuntimeService) handler(h string) string {
	if h == "" {
		return s.DefaultHandler
	}
	return h
}

// KnownHandler says whether a pod may ask for handler h.
func KnownHandler(h string) bool { return slices.Contains(Handlers(), h) }

var (
	rroOnce      sync.Once
	rroSupported map[string]bool
)

// recursiveReadOnlySupported says whether "rro" mounts work with handler
// h: the runtime must list the option in its `features`, and the kernel
// must have mount_setattr(2) (5.12), which runc uses to apply it. The
// default handler has it only if every runtime it may be has it. Probed
// once: neither changes while the gateway runs.
func recursiveReadOnlySupported(h string) bool {
	rroOnce.Do(func() {
		rroSupported = map[string]bool{}
		kernel := kernelHasMountSetattr()
		all := kernel
		for _, h := range Handlers()[1:] {
			rroSupported[h] = kernel && runtimeHasMountOption(h, "rro")
			all = all && rroSupported[h]
		}
		rroSupported[""] = all
	})
	return rroSupported[h]
}

func kernelHasMountSetattr() bool {
	// An empty path with no flags is EINVAL/EBADF where the call exists,
	// ENOSYS where it does not.
	err := unix.MountSetattr(-1, "", 0, &unix.MountAttr{})
	return err != unix.ENOSYS
}

func runtimeHasMountOption(bin, opt string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "features").Output()
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
