//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/pkg/oci"
)

// TestStdioFileURI appends a task's stdout and stderr to a file:// URI
// through ctr's --log-uri.
func TestStdioFileURI(t *testing.T) {
	st := runningStack(t)
	path := filepath.Join(t.TempDir(), "logs", "out.log")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("before\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	id := "fileuri-" + randomHex(t, 6)
	st.MustCtr(t, "run", "--rm", "--log-uri", "file://"+path, image, id, "sh", "-c", "echo to-stdout; echo to-stderr >&2")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 || lines[0] != "before" || !contains(lines, "to-stdout") || !contains(lines, "to-stderr") {
		t.Fatalf("file after the run: %q", lines)
	}
}

// buildLogger builds the test logger binary.
func buildLogger(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "testlogger")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/testlogger")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build logger: %v\n%s", err, out)
	}
	return bin
}

// TestStdioBinaryLogger runs a task whose output goes to a binary://
// logger: the shim starts it with containerd's protocol, it keeps logging
// across a taskd restart, and once the task exits it sees the end of the
// streams, exits, and is reaped by the shim.
func TestStdioBinaryLogger(t *testing.T) {
	st := runningStack(t)
	client, ctx := goClient(t, st, "default")
	tc := taskdClient(t, st)
	logger := buildLogger(t)
	out := filepath.Join(t.TempDir(), "logger.out")
	id := "binlog-" + randomHex(t, 6)
	c := newBusyboxContainer(t, ctx, client, id, oci.WithProcessArgs("sh", "-c", "echo first; echo oops >&2; read x; echo $x"))
	uri := "binary://" + logger + "?out=" + out + "&mode=test"
	task, _ := startTask(t, ctx, c, withURIs("attach://", uri, false))

	read := func() []string {
		b, _ := os.ReadFile(out)
		return strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	waitFor(t, 20*time.Second, func() error {
		if l := read(); !contains(l, "stdout first") || !contains(l, "stderr oops") {
			return fmt.Errorf("logger wrote %q", l)
		}
		return nil
	})
	start := read()[0]
	want := fmt.Sprintf("id=%s ns=default args=mode,test,out,%s env=2", id, out)
	if !strings.HasPrefix(start, "start pid=") || !strings.HasSuffix(start, want) {
		t.Fatalf("logger started as %q, want ...%q", start, want)
	}
	pid, err := strconv.Atoi(strings.Fields(start)[1][len("pid="):])
	if err != nil {
		t.Fatal(err)
	}

	// The shim, not taskd, owns the logger.
	st.Restart(t, "taskd", true)
	exited, err := task.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, err := tc.Attach(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	a.Write([]byte("after-restart\n"))
	if code := waitExit(t, exited); code != 0 {
		t.Fatalf("exit %d", code)
	}
	waitFor(t, 20*time.Second, func() error {
		l := read()
		if !contains(l, "stdout after-restart") || l[len(l)-1] != "exit" {
			return fmt.Errorf("logger wrote %q", l)
		}
		// Reaped, not a zombie: the pid is gone.
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			return fmt.Errorf("logger %d still there", pid)
		}
		return nil
	})
	if _, err := task.Delete(ctx); err != nil {
		t.Fatal(err)
	}
}
