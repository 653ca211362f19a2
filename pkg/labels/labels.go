// Package labels validates labels and applies containerd's field-mask
// updates to them, the same way for every record type Berth keeps.
package labels

import (
	"fmt"
	"strings"

	"github.com/containerd/errdefs"
)

// containerd's limit on a label: key and value together.
const maxLabel = 4096

// Bounds on one record's labels as a whole, which containerd leaves to the
// message size: without them a client could store thousands of 4 KiB labels
// on every record and make each read and each GC walk carry them. They leave
// room for the garbage collection labels of an index of thousands of
// manifests.
const (
	MaxLabels     = 4096
	MaxLabelBytes = 1 << 20
)

// Validate checks every label and the labels' count and total size.
func Validate(labels map[string]string) error {
	if len(labels) > MaxLabels {
		return fmt.Errorf("%d labels, more than %d: %w", len(labels), MaxLabels, errdefs.ErrInvalidArgument)
	}
	total := 0
	for k, v := range labels {
		if k == "" || len(k)+len(v) > maxLabel {
			return fmt.Errorf("label %q: key empty or label longer than %d bytes: %w", truncate(k), maxLabel, errdefs.ErrInvalidArgument)
		}
		total += len(k) + len(v)
	}
	if total > MaxLabelBytes {
		return fmt.Errorf("labels of %d bytes, more than %d: %w", total, MaxLabelBytes, errdefs.ErrInvalidArgument)
	}
	return nil
}

// truncate keeps an error about a huge key readable.
func truncate(k string) string {
	if len(k) > 64 {
		return k[:64] + "..."
	}
	return k
}

// Update applies the label paths of an update mask ("labels" replaces them
// all, "labels.<key>" sets or, with an empty or absent value, removes one).
// Paths that are not about labels are returned for the caller to handle.
func Update(current, update map[string]string, paths []string) (map[string]string, []string) {
	var rest []string
	for _, p := range paths {
		switch {
		case p == "labels":
			current = copyMap(update)
		case strings.HasPrefix(p, "labels."):
			k := strings.TrimPrefix(p, "labels.")
			if current == nil {
				current = map[string]string{}
			}
			if v, ok := update[k]; ok && v != "" {
				current[k] = v
			} else {
				delete(current, k)
			}
		default:
			rest = append(rest, p)
		}
	}
	return current, rest
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Unsupported is the error for an update path a record does not have.
func Unsupported(path, record string) error {
	return fmt.Errorf("cannot update %q field on %s: %w", path, record, errdefs.ErrInvalidArgument)
}
