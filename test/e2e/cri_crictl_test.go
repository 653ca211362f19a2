//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"berth.dev/test/e2e/harness"
)

// crictl runs the real crictl against one stack.
type crictl struct {
	bin, config string
}

// newCrictl finds crictl (BERTH_CRICTL, else PATH) and points it at st; the
// test is skipped without it (CI runs the same calls through cri-client).
func newCrictl(t *testing.T, st *harness.Stack) *crictl {
	t.Helper()
	bin := os.Getenv("BERTH_CRICTL")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("crictl"); err != nil {
			t.Skip("crictl is neither on PATH nor named by BERTH_CRICTL")
		}
	}
	config := filepath.Join(t.TempDir(), "crictl.yaml")
	ep := "unix://" + st.Socket
	if err := os.WriteFile(config, []byte(fmt.Sprintf("runtime-endpoint: %s\nimage-endpoint: %s\ntimeout: 60\n", ep, ep)), 0o644); err != nil {
		t.Fatal(err)
	}
	return &crictl{bin: bin, config: config}
}

func (c *crictl) run(args ...string) (string, error) {
	out, err := exec.Command(c.bin, append([]string{"--config", c.config}, args...)...).Output()
	if ee, ok := err.(*exec.ExitError); ok {
		err = fmt.Errorf("%w: %s", err, ee.Stderr)
	}
	return strings.TrimSpace(string(out)), err
}

func (c *crictl) must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := c.run(args...)
	if err != nil {
		t.Fatalf("crictl %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCrictlWalkthrough is the walkthrough an operator does with crictl:
// pull, images, runp, create, start, ps, exec, logs, stats, stopp, rmp.
func TestCrictlWalkthrough(t *testing.T) {
	if os.Getenv("BERTH_CRICTL") == "" {
		if _, err := exec.LookPath("crictl"); err != nil {
			t.Skip("crictl is neither on PATH nor named by BERTH_CRICTL")
		}
	}
	reg := harness.Registry(t)
	harness.Push(t, reg+"/library/busybox:1", harness.BusyboxImage(t))
	st, _ := criStack(t, newCRINet(t), harness.WithEnv("BERTH_REGISTRY_CONFIG_PATH="+hostsDir(t, map[string]string{"docker.io": reg})))
	c := newCrictl(t, st)
	dir := t.TempDir()
	pod, ctr := filepath.Join(dir, "pod.json"), filepath.Join(dir, "ctr.json")
	writeJSON(t, pod, map[string]any{
		"metadata":      map[string]any{"name": "walk", "namespace": "e2e", "uid": "walk-" + randomHex(t, 6)},
		"log_directory": filepath.Join(dir, "logs"),
		"linux":         map[string]any{},
	})
	writeJSON(t, ctr, map[string]any{
		"metadata": map[string]any{"name": "ticker"},
		"image":    map[string]any{"image": "busybox:1"},
		"command":  []string{"sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 1; done"},
		"log_path": "ticker.log",
		"linux":    map[string]any{},
	})

	c.must(t, "pull", "busybox:1")
	if out := c.must(t, "images"); !lineHas(out, "docker.io/library/busybox", "1") {
		t.Fatalf("crictl images does not list busybox:1:\n%s", out)
	}
	podID := c.must(t, "runp", pod)
	t.Cleanup(func() { c.run("stopp", podID); c.run("rmp", "-f", podID) })
	id := c.must(t, "create", podID, ctr, pod)
	if out := c.must(t, "start", id); out != id {
		t.Fatalf("crictl start answered %q", out)
	}
	if out := c.must(t, "ps"); !lineHas(out, id[:13], "Running", "ticker", podID[:13]) {
		t.Fatalf("crictl ps does not show the running container:\n%s", out)
	}
	if out := c.must(t, "exec", id, "echo", "hello from exec"); out != "hello from exec" {
		t.Fatalf("crictl exec printed %q", out)
	}
	eventually(t, "the container's output in crictl logs", func() bool {
		out, err := c.run("logs", id)
		return err == nil && strings.Contains(out, "tick 1")
	})
	if out := c.must(t, "stats", "-o", "json"); !strings.Contains(out, id) {
		t.Fatalf("crictl stats does not report the container:\n%s", out)
	}
	c.must(t, "stopp", podID)
	if out := c.must(t, "ps", "-a", "-q", "--id", id); out != id {
		t.Fatalf("crictl ps -a after stopp: %q", out)
	}
	if out := c.must(t, "inspect", "-o", "go-template", "--template", "{{.status.state}}", id); out != "CONTAINER_EXITED" {
		t.Fatalf("container state after stopp: %q", out)
	}
	c.must(t, "rmp", podID)
	if out := c.must(t, "pods", "-q"); out != "" {
		t.Fatalf("pods left after rmp: %q", out)
	}
	if out := c.must(t, "ps", "-a", "-q"); out != "" {
		t.Fatalf("containers left after rmp: %q", out)
	}
}
