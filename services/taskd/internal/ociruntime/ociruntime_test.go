package ociruntime

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/containerd/errdefs"
)

func TestDefaultPrefersConfiguredThenCrun(t *testing.T) {
	if got := Default("/opt/bin/runc"); got != "/opt/bin/runc" {
		t.Fatalf("configured runtime ignored: %q", got)
	}
	dir := t.TempDir()
	t.Setenv("PATH", dir)
	if got := Default(""); got != Runc {
		t.Fatalf("without crun on PATH: %q, want runc", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "crun"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := Default(""); got != Crun {
		t.Fatalf("with crun on PATH: %q, want crun", got)
	}
}

func TestCheckRejectsMissingBinary(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for _, bin := range []string{"", "no-such-runtime", "/no/such/runc"} {
		if err := Check(bin); !errdefs.IsInvalidArgument(err) {
			t.Errorf("Check(%q) = %v, want invalid argument", bin, err)
		}
	}
}

func TestLegacyCgroupViewOnlyForCrun(t *testing.T) {
	if LegacyCgroupView("runc") || LegacyCgroupView("/usr/sbin/runc") {
		t.Fatal("runc never needs the legacy view")
	}
	if hybridWithControllers(t.TempDir()) {
		t.Fatal("a plain directory is no hybrid cgroup root")
	}
}

func TestSpecVersionOnlyLowersNewSpecsForCrun(t *testing.T) {
	for _, c := range []struct{ bin, in, want string }{
		{"runc", "1.3.0", "1.3.0"},
		{"crun", "1.3.0", specVersionCrun},
		{"/usr/bin/crun", "1.2.1", specVersionCrun},
		{"crun", "1.0.2-dev", "1.0.2-dev"},
		{"crun", "", ""},
	} {
		if got := SpecVersion(c.bin, c.in); got != c.want {
			t.Errorf("SpecVersion(%q, %q) = %q, want %q", c.bin, c.in, got, c.want)
		}
	}
}
