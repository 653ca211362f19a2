package namespace

import (
	"fmt"
	"strings"

	"github.com/containerd/errdefs"
)

// containerd's limits on labels.
const (
	maxLabelKey   = 4096
	maxLabelTotal = 4096
)

func validateLabels(labels map[string]string) error {
	for k, v := range labels {
		if k == "" || len(k) > maxLabelKey || len(k)+len(v) > maxLabelTotal {
			return fmt.Errorf("label %q: key empty or label longer than %d bytes: %w", k, maxLabelTotal, errdefs.ErrInvalidArgument)
		}
	}
	return nil
}

// applyLabels applies an update with containerd's field-mask rules.
func applyLabels(current, update map[string]string, paths []string) (map[string]string, error) {
	if len(paths) == 0 {
		return update, nil
	}
	if current == nil {
		current = map[string]string{}
	}
	for _, p := range paths {
		switch {
		case p == "labels":
			current = update
			if current == nil {
				current = map[string]string{}
			}
		case strings.HasPrefix(p, "labels."):
			k := strings.TrimPrefix(p, "labels.")
			if v, ok := update[k]; ok && v != "" {
				current[k] = v
			} else {
				delete(current, k)
			}
		default:
			return nil, fmt.Errorf("cannot update %q field on namespace: %w", p, errdefs.ErrInvalidArgument)
		}
	}
	return current, nil
}
