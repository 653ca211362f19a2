package content

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/containerd/errdefs"
)

// full turns the content filesystem running out of space (or the daemon
// out of its quota) into errdefs.ErrResourceExhausted, which a caller can
// act on (free space, retry), rather than an unknown error. What the
// ingest wrote so far stays in the ingest, invisible until a commit, so a
// retry once space is freed resumes it.
func full(what string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%s: the content store is full: %v: %w", what, err, errdefs.ErrResourceExhausted)
	}
	return err
}
