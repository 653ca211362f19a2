package shim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"

	"github.com/containerd/errdefs"
)

// maxSocketPath is the longest path a unix socket can be bound at
// (sun_path is 108 bytes with its terminating NUL).
const maxSocketPath = 107

// SocketPath is where the shim for bundle listens: a file in dir named by a
// hash of the bundle path, as containerd names its shim sockets, so its
// length depends neither on the namespace nor on the container id (both can
// be long: Kubernetes uses 64-character ids). 128 bits of the hash keep the
// name unique and leave room for a long state directory.
func SocketPath(dir, bundle string) string {
	sum := sha256.Sum256([]byte(bundle))
	return filepath.Join(dir, hex.EncodeToString(sum[:16]))
}

// legacySocketPath is where shims of earlier Berth versions listened; a
// restarted taskd still finds them there.
func legacySocketPath(bundle string) string { return filepath.Join(bundle, "shim.sock") }

// checkSocketPath refuses a path the kernel cannot bind, with a message that
// says what to change.
func checkSocketPath(path string) error {
	if len(path) > maxSocketPath {
		return fmt.Errorf("shim socket %s is %d bytes, more than a unix socket path can hold (%d): shorten BERTH_STATE: %w",
			path, len(path), maxSocketPath, errdefs.ErrFailedPrecondition)
	}
	return nil
}
