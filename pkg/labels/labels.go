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
	return UpdateMap(current, update, "labels", paths, func(v string) bool { return v != "" })
}

// UpdateMap applies the paths of an update mask that are about the map
// field name ("<name>" replaces the map, "<name>.<key>" sets a key or, when
// update has no value for it that set accepts, removes it): labels and
// extensions of containerd's records. Other paths are returned.
func UpdateMap[V any](current, update map[string]V, name string, paths []string, set func(V) bool) (map[string]V, []string) {
	var rest []string
	for _, p := range paths {
		switch {
		case p == name:
			current = copyMap(update)
		case strings.HasPrefix(p, name+"."):
			k := strings.TrimPrefix(p, name+".")
			if current == nil {
				current = map[string]V{}
			}
			if v, ok := update[k]; ok && set(v) {
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

func copyMap[V any](m map[string]V) map[string]V {
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Unsupported is the error for an update path a record does not have.
func Unsupported(path, record string) error {
	return fmt.Errorf("cannot update %q field on %s: %w", path, record, errdefs.ErrInvalidArgument)
}
