package shim

import (
	"path/filepath"
	"testing"
)

// FuzzStdioURIs checks the stdio URI parsers on any input: a URI is
// refused or names an absolute, clean path of a known kind.
func FuzzStdioURIs(f *testing.F) {
	for _, s := range []string{"", "/run/fifo", "file:///var/log/x", "crilog:///var/log/pods/p/c/0.log",
		"binary:///usr/bin/logger?tag=a&x=1", "attach://", "attach://?once=true", "file://host/x", "crilog:///../../etc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if out, err := parseOutput(s); err == nil {
			switch out.kind {
			case outNone:
				if s != "" {
					t.Fatalf("%q read as no output", s)
				}
			case outFifo:
			case outFile, outCRILog, outBinary:
				if !filepath.IsAbs(out.path) || filepath.Clean(out.path) != out.path {
					t.Fatalf("%q gives path %q", s, out.path)
				}
			default:
				t.Fatalf("%q gives unknown kind %q", s, out.kind)
			}
		}
		if in, err := parseInput(s); err == nil && in.kind != inNone && in.kind != inFifo && in.kind != inAttach {
			t.Fatalf("%q gives unknown stdin kind %q", s, in.kind)
		}
	})
}
