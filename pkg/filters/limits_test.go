package filters

import (
	"errors"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

func TestParseBounds(t *testing.T) {
	terms := func(n int) string { return strings.TrimSuffix(strings.Repeat("labels.a==b,", n), ",") }
	if _, err := Parse(terms(MaxTerms)); err != nil {
		t.Fatalf("%d terms: %v", MaxTerms, err)
	}
	many := make([]string, MaxTerms+1)
	for i := range many {
		many[i] = "name==x"
	}
	for name, exprs := range map[string][]string{
		"one expression":    {terms(MaxTerms + 1)},
		"many expressions":  many,
		"one huge value":    {"name==" + strings.Repeat("x", MaxBytes)},
		"huge with a match": {"", strings.Repeat("x", MaxBytes+1)},
	} {
		if _, err := Parse(exprs...); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%s: got %v, want invalid argument", name, err)
		}
	}
}
