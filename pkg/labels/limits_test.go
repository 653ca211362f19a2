package labels

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

func TestValidateBounds(t *testing.T) {
	many := func(n, size int) map[string]string {
		m := map[string]string{}
		for i := 0; i < n; i++ {
			k := fmt.Sprintf("k%06d", i)
			m[k] = strings.Repeat("v", size-len(k))
		}
		return m
	}
	for name, tc := range map[string]struct {
		labels map[string]string
		ok     bool
	}{
		"one at the limit":     {map[string]string{"k": strings.Repeat("v", maxLabel-1)}, true},
		"one over the limit":   {map[string]string{"k": strings.Repeat("v", maxLabel)}, false},
		"huge key":             {map[string]string{strings.Repeat("k", 1<<20): ""}, false},
		"empty key":            {map[string]string{"": "v"}, false},
		"max count":            {many(MaxLabels, 16), true},
		"one too many":         {many(MaxLabels+1, 16), false},
		"total at the limit":   {many(MaxLabelBytes/maxLabel, maxLabel), true},
		"total over the limit": {many(MaxLabelBytes/maxLabel+1, maxLabel), false},
	} {
		err := Validate(tc.labels)
		if tc.ok && err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if !tc.ok && !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%s: got %v, want invalid argument", name, err)
		}
		if err != nil && len(err.Error()) > 200 {
			t.Errorf("%s: error of %d bytes", name, len(err.Error()))
		}
	}
}
