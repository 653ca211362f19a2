package pull

import (
	"testing"

	"github.com/containerd/errdefs"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"busybox":                       "docker.io/library/busybox:latest",
		"busybox:1":                     "docker.io/library/busybox:1",
		"docker.io/library/busybox:1":   "docker.io/library/busybox:1",
		"quay.io/a/b:c":                 "quay.io/a/b:c",
		"127.0.0.1:5000/x/y:1":          "127.0.0.1:5000/x/y:1",
		"busybox@sha256:" + sixtyFour0s: "docker.io/library/busybox@sha256:" + sixtyFour0s,
	} {
		_, _, got, err := Normalize(in)
		if err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "UPPER/case", "a b", "x@sha256:short", "host:port:extra/x"} {
		if _, _, _, err := Normalize(bad); !errdefs.IsInvalidArgument(err) {
			t.Errorf("Normalize(%q): %v", bad, err)
		}
	}
}

const sixtyFour0s = "0000000000000000000000000000000000000000000000000000000000000000"

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"busybox", "quay.io/a/b:c", "x@sha256:" + sixtyFour0s, "::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _, n, err := Normalize(s)
		if err != nil {
			return
		}
		// A normalized name is stable.
		if _, _, again, err := Normalize(n); err != nil || again != n {
			t.Fatalf("Normalize(%q) = %q, then %q (%v)", s, n, again, err)
		}
	})
}
