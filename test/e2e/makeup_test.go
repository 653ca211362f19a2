//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"berth.dev/test/e2e/harness"
)

// TestMakeUpIsIdempotent runs scripts/up twice, kills one daemon, runs it
// again (only that daemon starts), then scripts/down.
func TestMakeUpIsIdempotent(t *testing.T) {
	harness.RequireRoot(t)
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	base, err := os.MkdirTemp("/tmp", "berth-up-")
	if err != nil {
		t.Fatal(err)
	}
	env := append(harness.Environ(), "BERTH_ROOT="+filepath.Join(base, "root"), "BERTH_STATE="+filepath.Join(base, "state"), "BIN="+harness.Binaries(t))
	run := func(script string) string {
		cmd := exec.Command(filepath.Join(root, "scripts", script))
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", script, err, out)
		}
		return string(out)
	}
	t.Cleanup(func() {
		run("down")
		harness.Cleanup(base)
	})
	if out := run("up"); strings.Count(out, " started") != 4 {
		t.Fatalf("first up:\n%s", out)
	}
	checkModes(t, base)
	if out := run("up"); strings.Count(out, "already running") != 4 {
		t.Fatalf("second up:\n%s", out)
	}
	pid, err := os.ReadFile(filepath.Join(base, "state", "pids", "snapshotd.pid"))
	if err != nil {
		t.Fatal(err)
	}
	var p int
	for _, c := range strings.TrimSpace(string(pid)) {
		p = p*10 + int(c-'0')
	}
	syscall.Kill(p, syscall.SIGKILL)
	waitFor(t, 10*time.Second, func() error {
		if st, err := os.ReadFile(filepath.Join("/proc", strings.TrimSpace(string(pid)), "status")); err == nil && !strings.Contains(string(st), "zombie") {
			return fmt.Errorf("snapshotd still alive")
		}
		return nil
	})
	out := run("up")
	if !strings.Contains(out, "snapshotd started") || strings.Count(out, "already running") != 3 {
		t.Fatalf("up after a daemon died:\n%s", out)
	}
	waitFor(t, 10*time.Second, func() error {
		b, err := exec.Command("ctr", "--address", filepath.Join(base, "state", "berth.sock"), "snapshots", "ls").CombinedOutput()
		if err != nil {
			return fmt.Errorf("stack not serving after up: %v %s", err, b)
		}
		return nil
	})
	if out := run("down"); strings.Count(out, "stopped") != 4 {
		t.Fatalf("down:\n%s", out)
	}
}

// checkModes: the root is root's alone, the state dir only traversable by
// others (as containerd keeps them), and the logs readable by root only.
func checkModes(t *testing.T, base string) {
	t.Helper()
	want := map[string]os.FileMode{"root": 0o700, "state": 0o711, "root/logs": 0o700}
	logs, _ := filepath.Glob(filepath.Join(base, "root", "logs", "*.log"))
	if len(logs) != 4 {
		t.Fatalf("expected a log per daemon, found %v", logs)
	}
	for _, l := range logs {
		rel, _ := filepath.Rel(base, l)
		want[rel] = 0o600
	}
	for rel, mode := range want {
		fi, err := os.Stat(filepath.Join(base, rel))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s has mode %v, want %v", rel, fi.Mode().Perm(), mode)
		}
	}
}
