//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"berth.dev/test/e2e/harness"
)

// lockedBuffer is written by a running berth and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestCLILogs reads a detached container's log: stdout and stderr apart,
// --tail, --timestamps, and -f following output until the container ends.
func TestCLILogs(t *testing.T) {
	st := harness.Start(t)
	c := newCLI(t, st)
	c.cleanup(t)
	img := c.importBusybox(t)
	dir := t.TempDir()
	// The container prints, then waits for the test to let it go on.
	res := c.run(t, nil, "run", "-d", "--name", "talker", "-v", dir+":/ctl", img, "sh", "-c",
		"echo one; echo err-one >&2; echo two; while [ ! -e /ctl/go ]; do sleep 0.1; done; echo three; sleep 0.3; echo four; exit 3")
	if res.code != 0 {
		t.Fatalf("run -d: %s", res)
	}
	if strings.Contains(res.stderr, "does not record container logs") {
		t.Skip("this taskd has no crilog:// stdio yet")
	}
	waitUntil(t, "the first lines in the log", 30*time.Second, func() bool {
		return c.must(t, "logs", "talker") == "one\ntwo\n"
	})
	if res := c.run(t, nil, "logs", "talker"); res.stderr != "err-one\n" {
		t.Fatalf("stderr: %s", res)
	}
	// The shim copies stdout and stderr apart, so err-one may be logged
	// before or after two: the last line is either, on its own stream.
	if res := c.run(t, nil, "logs", "--tail", "1", "talker"); res.stdout+res.stderr != "two\n" && res.stdout+res.stderr != "err-one\n" {
		t.Fatalf("--tail 1: %s", res)
	}
	if res := c.run(t, nil, "logs", "--tail", "3", "talker"); res.stdout != "one\ntwo\n" || res.stderr != "err-one\n" {
		t.Fatalf("--tail 3: %s", res)
	}
	stamped := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z one$`)
	if out := strings.Split(c.must(t, "logs", "--timestamps", "talker"), "\n")[0]; !stamped.MatchString(out) {
		t.Fatalf("--timestamps: %q", out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	follow := c.command(ctx, "logs", "-f", "talker")
	var out lockedBuffer
	follow.Stdout, follow.Stderr = &out, &out
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- follow.Wait() }()
	waitUntil(t, "logs -f to print what is there", 30*time.Second, func() bool { return strings.Contains(out.String(), "two\n") })
	writeFile(t, dir+"/go", "")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("logs -f: %v\n%s", err, out.String())
		}
	case <-ctx.Done():
		t.Fatalf("logs -f did not end with the container:\n%s", out.String())
	}
	if !strings.HasSuffix(out.String(), "three\nfour\n") {
		t.Fatalf("logs -f printed %q", out.String())
	}
	if ps := c.must(t, "ps", "-a"); !strings.Contains(ps, "Exited (3)") {
		t.Fatalf("ps:\n%s", ps)
	}
	if res := c.run(t, nil, "logs", "no-such"); res.code != 125 || !strings.Contains(res.stderr, "no container") {
		t.Fatalf("logs of a missing container: %s", res)
	}
}
