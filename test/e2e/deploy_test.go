package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"berth.dev/test/e2e/harness"
)

// TestSystemdUnitsVerify runs systemd-analyze verify on deploy/systemd, with
// the daemons' binaries replaced by /bin/true since they are not installed.
func TestSystemdUnitsVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	units, _ := filepath.Glob(filepath.Join(root, "deploy/systemd/*"))
	if len(units) < 5 {
		t.Fatalf("expected the unit files under deploy/systemd, found %v", units)
	}
	dir := t.TempDir()
	execStart := regexp.MustCompile(`(?m)^ExecStart=\S+.*$`)
	var args []string
	for _, u := range units {
		data, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		text := execStart.ReplaceAllString(string(data), "ExecStart=/bin/true")
		text = strings.ReplaceAll(text, "User=nats\nGroup=nats\n", "")
		dst := filepath.Join(dir, filepath.Base(u))
		if err := os.WriteFile(dst, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, dst)
	}
	out, err := exec.Command(analyze, append([]string{"verify"}, args...)...).CombinedOutput()
	// Complaints about the host's own units are not ours.
	var ours []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, dir) {
			ours = append(ours, l)
		}
	}
	if err != nil || len(ours) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, strings.Join(ours, "\n"))
	}
	taskd, _ := os.ReadFile(filepath.Join(root, "deploy/systemd/berth-taskd.service"))
	for _, want := range []string{"Delegate=yes", "KillMode=process"} {
		if !strings.Contains(string(taskd), want) {
			t.Errorf("berth-taskd.service lacks %s", want)
		}
	}
}
