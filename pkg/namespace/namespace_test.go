package namespace

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"google.golang.org/grpc/metadata"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"default", true},
		{"k8s.io", true},
		{"a-b_c.d", true},
		{"", false},
		{"-lead", false},
		{"trail.", false},
		{"a..b", false},
		{"with space", false},
		{"slash/y", false},
		{strings.Repeat("a", 77), false},
		{strings.Repeat("a", 76), true},
	} {
		err := Validate(tc.name)
		if tc.ok != (err == nil) {
			t.Errorf("Validate(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("Validate(%q) error %v is not InvalidArgument", tc.name, err)
		}
	}
}

func TestRequired(t *testing.T) {
	if _, err := Required(context.Background()); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("missing namespace: got %v", err)
	}
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(Metadata, "k8s.io"))
	if ns, err := Required(ctx); err != nil || ns != "k8s.io" {
		t.Fatalf("incoming: %q %v", ns, err)
	}
	out := WithNamespace(context.Background(), "other")
	md, _ := metadata.FromOutgoingContext(out)
	if got := md.Get(Metadata); len(got) != 1 || got[0] != "other" {
		t.Fatalf("outgoing metadata %v", got)
	}
}

func FuzzValidate(f *testing.F) {
	for _, s := range []string{"default", "k8s.io", "a..b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if err := Validate(s); err == nil {
			if len(s) == 0 || len(s) > maxLength || strings.ContainsAny(s, " /\x00") {
				t.Fatalf("accepted %q", s)
			}
		}
	})
}
