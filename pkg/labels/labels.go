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

// Validate checks every label.
func Validate(labels map[string]string) error {
	for k, v := range labels {
		if k == "" || len(k)+len(v) > maxLabel {
			return fmt.Errorf("label %q: key empty or label longer than %d bytes: %w", k, maxLabel, errdefs.ErrInvalidArgument)
		}
	}
	return nil
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
