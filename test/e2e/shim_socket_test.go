//go:build e2e

package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"berth.dev/test/e2e/harness"
)

// randomHex returns n random hex characters.
func randomHex(t *testing.T, n int) string {
	b := make([]byte, (n+1)/2)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)[:n]
}

// withLongState moves BERTH_STATE to a directory whose path is n bytes long
// (next to the stack's own, so teardown removes it).
func withLongState(n int) harness.Option {
	return func(s *harness.Stack) {
		base := filepath.Dir(s.State) + "/state-"
		s.State = base + strings.Repeat("l", n-len(base))
		s.Socket = filepath.Join(s.State, "berth.sock")
	}
}

// importBusyboxIn imports the busybox image into namespace ns.
func importBusyboxIn(t *testing.T, st *harness.Stack, ns, ref string) {
	t.Helper()
	tar := filepath.Join(t.TempDir(), "busybox.tar")
	harness.DockerArchive(t, tar, ref, harness.BusyboxImage(t))
	st.MustCtr(t, "-n", ns, "images", "import", tar)
}

// TestShimSocketLongNames runs a Kubernetes-sized container id (64
// characters) in the longest namespace containerd allows (76) under a long
// BERTH_STATE, and reconnects to its shim after taskd restarts: the shim's
// socket path must not grow with any of them.
func TestShimSocketLongNames(t *testing.T) {
	st := harness.Start(t, withLongState(70))
	ns := "k8s-" + randomHex(t, 8) + "-"
	ns += strings.Repeat("n", 76-len(ns))
	id := randomHex(t, 64)
	// The stack's teardown looks for runc state in its default place only.
	t.Cleanup(func() { exec.Command("runc", "--root", filepath.Join(st.State, "runc", ns), "delete", "-f", id).Run() })
	importBusyboxIn(t, st, ns, image)

	st.MustCtr(t, "-n", ns, "run", "-d", image, id, "sleep", "1000")
	if out := st.MustCtr(t, "-n", ns, "task", "ls"); !lineHas(out, id, "RUNNING") {
		t.Fatalf("task ls:\n%s", out)
	}
	socks, _ := filepath.Glob(filepath.Join(st.State, "s", "*"))
	if len(socks) != 1 || len(socks[0]) > 107 {
		t.Fatalf("shim sockets %q", socks)
	}

	st.Restart(t, "taskd", true)
	if out := st.MustCtr(t, "-n", ns, "task", "ls"); !lineHas(out, id, "RUNNING") {
		t.Fatalf("after taskd restart the task is not running:\n%s", out)
	}
	if out := st.MustCtr(t, "-n", ns, "task", "ps", id); len(strings.Split(strings.TrimSpace(out), "\n")) < 2 {
		t.Fatalf("task ps after restart:\n%s", out)
	}
	st.MustCtr(t, "-n", ns, "task", "kill", "-s", "9", id)
	waitFor(t, 10*time.Second, func() error {
		if out := st.MustCtr(t, "-n", ns, "task", "ls"); !lineHas(out, id, "STOPPED") {
			return fmt.Errorf("not stopped yet: %s", out)
		}
		return nil
	})
	st.MustCtr(t, "-n", ns, "task", "rm", id)
	st.MustCtr(t, "-n", ns, "containers", "rm", id)
	waitFor(t, 10*time.Second, func() error {
		if socks, _ := filepath.Glob(filepath.Join(st.State, "s", "*")); len(socks) != 0 {
			return fmt.Errorf("sockets left: %q", socks)
		}
		if _, err := os.Stat(filepath.Join(st.State, "shims", ns, id)); !os.IsNotExist(err) {
			return fmt.Errorf("state directory left: %v", err)
		}
		return nil
	})
}
