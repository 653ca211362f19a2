//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"berth.dev/test/e2e/harness"
)

// TestCLIRunExitCodesAndErrors runs containers in the foreground and checks
// berth exits as docker does and says what to do when something is wrong.
func TestCLIRunExitCodesAndErrors(t *testing.T) {
	st := harness.Start(t)
	c := newCLI(t, st)
	c.cleanup(t)
	img := c.importBusybox(t)

	res := c.run(t, nil, "run", "--rm", img, "sh", "-c", "echo to-out; echo to-err >&2; exit 7")
	if res.code != 7 || res.stdout != "to-out\n" || res.stderr != "to-err\n" {
		t.Fatalf("exit 7 run: %s", res)
	}
	if res := c.run(t, nil, "run", "--rm", img, "no-such-command"); res.code != 127 || !strings.Contains(res.stderr, "not found") {
		t.Fatalf("missing command: %s", res)
	}
	if res := c.run(t, nil, "run", "--rm", img, "/etc/passwd"); res.code != 126 {
		t.Fatalf("not executable: %s", res)
	}
	if res := c.run(t, nil, "run", "--rm", "busybox:1", "true"); res.code != 125 || !strings.Contains(res.stderr, "did you mean the fully qualified name berth.local/busybox:1") {
		t.Fatalf("short name: %s", res)
	}
	c.must(t, "run", "--name", "keep", img, "true")
	if res := c.run(t, nil, "run", "--name", "keep", img, "true"); res.code != 125 || !strings.Contains(res.stderr, "already in use") {
		t.Fatalf("name in use: %s", res)
	}
	if res := c.run(t, nil, "run", "--rm", "--memory", "lots", img, "true"); res.code != 125 || !strings.Contains(res.stderr, "--memory") {
		t.Fatalf("bad flag value: %s", res)
	}
	// Flags reach the process: env, env file, workdir, user, read-only root, bind mounts, limits.
	dir := t.TempDir()
	envFile := dir + "/env"
	writeFile(t, envFile, "# comment\nFROM_FILE=yes\n")
	writeFile(t, dir+"/data", "bound\n")
	res = c.run(t, nil, "run", "--rm", "-e", "A=1", "--env-file", envFile, "-w", "/tmp", "-u", "nobody", "--read-only",
		"-v", dir+":/mnt:ro", "--memory", "64m", "--pids-limit", "50", "--cpus", "0.5", "--cap-drop", "ALL", img,
		"sh", "-c", "echo $A $FROM_FILE $(pwd) $(id -u) $(cat /mnt/data); touch /x 2>/dev/null || echo ro-root; grep CapEff /proc/self/status")
	if res.code != 0 || !strings.Contains(res.stdout, "1 yes /tmp 65534 bound") || !strings.Contains(res.stdout, "ro-root") ||
		!strings.Contains(res.stdout, "CapEff:\t0000000000000000") {
		t.Fatalf("flags: %s", res)
	}
	// ps -a shows the kept container as exited, and its JSON parses.
	var row struct {
		ID    string `json:"id"`
		State struct {
			Status   string `json:"status"`
			ExitCode int    `json:"exitCode"`
		} `json:"state"`
	}
	out := c.must(t, "ps", "-a", "--format", "json")
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &row); err != nil || row.ID != "keep" || row.State.Status != "exited" {
		t.Fatalf("ps json %q: %v", out, err)
	}
	if table := c.must(t, "ps", "-a"); !strings.Contains(table, "Exited (0)") || !strings.HasPrefix(table, "CONTAINER ID") {
		t.Fatalf("ps table:\n%s", table)
	}
	c.must(t, "rm", "keep")
	if res := c.run(t, nil, "rm", "keep"); res.code != 125 || !strings.Contains(res.stderr, "no container") {
		t.Fatalf("rm twice: %s", res)
	}
}

// TestCLIRunInteractive pipes stdin into a container with -i and closes it.
func TestCLIRunInteractive(t *testing.T) {
	st := harness.Start(t)
	c := newCLI(t, st)
	c.cleanup(t)
	img := c.importBusybox(t)
	res := c.run(t, strings.NewReader("line one\nline two\n"), "run", "--rm", "-i", img, "sh", "-c", "wc -l; echo done")
	if res.code != 0 || strings.Fields(res.stdout)[0] != "2" || !strings.Contains(res.stdout, "done") {
		t.Fatalf("-i: %s", res)
	}
	// Without -i the process gets no stdin and reads EOF at once.
	res = c.run(t, strings.NewReader("ignored\n"), "run", "--rm", img, "sh", "-c", "cat; echo eof")
	if res.code != 0 || res.stdout != "eof\n" {
		t.Fatalf("no -i: %s", res)
	}
}

// TestCLIRunTTY runs `berth run -it` on a real pty: the container sees a
// terminal of the pty's size, reads what is typed, and its exit code comes
// back.
func TestCLIRunTTY(t *testing.T) {
	st := harness.Start(t)
	c := newCLI(t, st)
	c.cleanup(t)
	img := c.importBusybox(t)
	master, slave := openPty(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := c.command(ctx, "run", "-it", "--rm", img, "sh")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	var mu sync.Mutex
	var screen bytes.Buffer
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			mu.Lock()
			screen.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	shown := func() string { mu.Lock(); defer mu.Unlock(); return screen.String() }
	waitUntil(t, "a prompt", time.Minute, func() bool { return strings.Contains(shown(), "# ") })
	io.WriteString(master, "test -t 0 && echo tty-$((20+22)); stty size\n")
	waitUntil(t, "the command's output", 30*time.Second, func() bool {
		return strings.Contains(shown(), "tty-42") && strings.Contains(shown(), "33 101")
	})
	io.WriteString(master, "exit 5\n")
	err := cmd.Wait()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 5 {
		t.Fatalf("exit: %v\n%s", err, shown())
	}
}

// TestCLIDetachedLifecycle runs a container in the background, execs into
// it, stops, starts, kills and removes it.
func TestCLIDetachedLifecycle(t *testing.T) {
	st := harness.Start(t)
	c := newCLI(t, st)
	c.cleanup(t)
	img := c.importBusybox(t)
	if id := strings.TrimSpace(c.must(t, "run", "-d", "--name", "bg", img, "sleep", "1000")); id != "bg" {
		t.Fatalf("run -d printed %q", id)
	}
	if ps := c.must(t, "ps", "-q"); strings.TrimSpace(ps) != "bg" {
		t.Fatalf("ps -q: %q", ps)
	}
	res := c.run(t, strings.NewReader("from-stdin"), "exec", "-i", "-e", "X=y", "-w", "/tmp", "-u", "nobody", "bg", "sh", "-c", "echo $X $(pwd) $(id -u) $(cat)")
	if res.code != 0 || res.stdout != "y /tmp 65534 from-stdin\n" {
		t.Fatalf("exec: %s", res)
	}
	if res := c.run(t, nil, "exec", "bg", "sh", "-c", "exit 9"); res.code != 9 {
		t.Fatalf("exec exit code: %s", res)
	}
	if res := c.run(t, nil, "exec", "bg", "nope"); res.code != 127 {
		t.Fatalf("exec of a missing command: %s", res)
	}
	if top := c.must(t, "top", "bg"); !strings.Contains(top, "sleep 1000") {
		t.Fatalf("top: %s", top)
	}
	if res := c.run(t, nil, "rm", "bg"); res.code != 125 || !strings.Contains(res.stderr, "is running") {
		t.Fatalf("rm of a running container: %s", res)
	}
	c.must(t, "stop", "-t", "1", "bg")
	if ps := c.must(t, "ps", "-a"); !strings.Contains(ps, "Exited (137)") {
		t.Fatalf("after stop:\n%s", ps)
	}
	c.must(t, "start", "bg")
	if ps := c.must(t, "ps", "-q"); strings.TrimSpace(ps) != "bg" {
		t.Fatalf("after start: %q", ps)
	}
	c.must(t, "kill", "-s", "KILL", "bg")
	waitUntil(t, "the kill", 30*time.Second, func() bool { return strings.TrimSpace(c.must(t, "ps", "-q")) == "" })
	c.must(t, "rm", "bg")
	if ps := c.must(t, "ps", "-a", "-q"); ps != "" {
		t.Fatalf("after rm: %q", ps)
	}
}
