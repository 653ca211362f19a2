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
