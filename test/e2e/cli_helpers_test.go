//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"berth.dev/test/e2e/harness"
)

// cliEnv is how a test runs the berth binary as a person would: against
// the stack's node socket, in a namespace of its own, with the CLI's state
// (logs) under the stack's root.
type cliEnv struct {
	st  *harness.Stack
	ns  string
	env []string
}

func newCLI(t *testing.T, st *harness.Stack) *cliEnv {
	return &cliEnv{st: st, ns: fmt.Sprintf("cli-%d", rand.Int63()), env: []string{"BERTH_ROOT=" + st.Root}}
}

type cliResult struct {
	stdout, stderr string
	code           int
}

func (r cliResult) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
}

func (c *cliEnv) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.st.Bin, "berth"), append([]string{"--address", c.st.Socket, "-n", c.ns}, args...)...)
	cmd.Env = append(os.Environ(), c.env...)
	return cmd
}

// run runs berth with stdin and returns what it printed and its exit code.
func (c *cliEnv) run(t *testing.T, stdin io.Reader, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := c.command(ctx, args...)
	var out, errOut bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &out, &errOut
	err := cmd.Run()
	res := cliResult{stdout: out.String(), stderr: errOut.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("berth %v: %v", args, err)
	}
	return res
}

// must runs berth and fails the test unless it exits 0.
func (c *cliEnv) must(t *testing.T, args ...string) string {
	t.Helper()
	res := c.run(t, nil, args...)
	if res.code != 0 {
		t.Fatalf("berth %s: %s", strings.Join(args, " "), res)
	}
	return res.stdout
}

// importBusybox imports the busybox-static image as berth.local/busybox:1.
func (c *cliEnv) importBusybox(t *testing.T) string {
	t.Helper()
	const ref = "berth.local/busybox:1"
	archive := filepath.Join(t.TempDir(), "bb.tar")
	harness.DockerArchive(t, archive, ref, harness.BusyboxImage(t))
	if out := c.must(t, "import", archive); strings.TrimSpace(out) != ref {
		t.Fatalf("import printed %q", out)
	}
	return ref
}

// cleanup removes every container the test left and its namespace.
func (c *cliEnv) cleanup(t *testing.T) {
	t.Cleanup(func() {
		ids := strings.Fields(c.run(t, nil, "ps", "-a", "-q").stdout)
		if len(ids) > 0 {
			c.run(t, nil, append([]string{"rm", "-f"}, ids...)...)
		}
	})
}

// openPty returns a new pty's master and slave.
func openPty(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 33, Col: 101})
	t.Cleanup(func() { master.Close(); slave.Close() })
	return master, slave
}

func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
