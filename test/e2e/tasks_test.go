//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	apievents "github.com/containerd/containerd/api/events"

	"berth.dev/pkg/bus/bustest"
	"berth.dev/pkg/events"
	"berth.dev/test/e2e/harness"
)

const image = "berth.local/busybox:1"

func runningStack(t *testing.T) *harness.Stack {
	st := harness.Start(t)
	importBusybox(t, st, image)
	return st
}

func TestRunEchoAndExitCodes(t *testing.T) {
	st := runningStack(t)
	out := st.MustCtr(t, "run", "--rm", image, "echo1", "echo", "hi")
	if strings.TrimSpace(out) != "hi" {
		t.Fatalf("ctr run printed %q", out)
	}
	_, err := st.Ctr(t, "run", "--rm", image, "exit7", "sh", "-c", "exit 7")
	if err == nil || !strings.Contains(err.Error(), "exit status 7") {
		t.Fatalf("exit code did not propagate: %v", err)
	}
	if out := st.MustCtr(t, "containers", "ls", "-q"); strings.TrimSpace(out) != "" {
		t.Fatalf("run --rm left containers: %s", out)
	}
}

func TestDetachedTaskLifecycle(t *testing.T) {
	st := runningStack(t)
	st.MustCtr(t, "run", "-d", image, "sleeper", "sleep", "1000")
	if out := st.MustCtr(t, "task", "ls"); !lineHas(out, "sleeper", "RUNNING") {
		t.Fatalf("task ls:\n%s", out)
	}
	if out := st.MustCtr(t, "task", "ps", "sleeper"); len(strings.Split(strings.TrimSpace(out), "\n")) < 2 {
		t.Fatalf("task ps lists no process:\n%s", out)
	}
	out := st.MustCtr(t, "task", "exec", "--exec-id", "e1", "sleeper", "sh", "-c", "echo $$")
	if pid, err := strconv.Atoi(strings.TrimSpace(out)); err != nil || pid <= 1 {
		t.Fatalf("exec printed %q", out)
	}
	st.MustCtr(t, "task", "pause", "sleeper")
	if out := st.MustCtr(t, "task", "ls"); !lineHas(out, "sleeper", "PAUSED") {
		t.Fatalf("after pause:\n%s", out)
	}
	st.MustCtr(t, "task", "resume", "sleeper")
	if out := st.MustCtr(t, "task", "ls"); !lineHas(out, "sleeper", "RUNNING") {
		t.Fatalf("after resume:\n%s", out)
	}
	if out := st.MustCtr(t, "task", "metrics", "sleeper"); !strings.Contains(out, "pids.current") {
		t.Fatalf("metrics:\n%s", out)
	}
	if out := st.MustCtr(t, "-n", "other", "task", "ls", "-q"); strings.TrimSpace(out) != "" {
		t.Fatalf("namespace other sees tasks: %s", out)
	}
	st.MustCtr(t, "task", "kill", "-s", "9", "sleeper")
	waitFor(t, 10*time.Second, func() error {
		if out := st.MustCtr(t, "task", "ls"); !lineHas(out, "sleeper", "STOPPED") {
			return fmt.Errorf("not stopped yet: %s", out)
		}
		return nil
	})
	st.MustCtr(t, "task", "rm", "sleeper")
	st.MustCtr(t, "containers", "rm", "sleeper")
	if out := st.MustCtr(t, "snapshots", "ls"); strings.Contains(out, "sleeper") {
		t.Fatalf("container's snapshot left:\n%s", out)
	}
}

func TestTerminal(t *testing.T) {
	st := runningStack(t)
	// ctr -t needs a terminal of its own: script gives it one.
	cmd := exec.Command("script", "-qec", "ctr --address "+st.Socket+" run --rm -t "+image+" tty1 sh -c 'tty; echo tty-ok'", "/dev/null")
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "/dev/pts/") || !strings.Contains(string(out), "tty-ok") {
		t.Fatalf("ctr run -t: %v\n%s", err, out)
	}
}

func TestBadTaskRequests(t *testing.T) {
	st := runningStack(t)
	if _, err := st.Ctr(t, "task", "start", "nope"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("start of an unknown container: %v", err)
	}
	st.MustCtr(t, "run", "-d", image, "bad1", "sleep", "1000")
	if _, err := st.Ctr(t, "task", "start", "bad1"); err == nil {
		t.Fatal("second start succeeded")
	}
	if _, err := st.Ctr(t, "task", "kill", "-s", "99", "bad1"); err == nil || !strings.Contains(err.Error(), "invalid") {
		t.Fatalf("kill with signal 99: %v", err)
	}
	if _, err := st.Ctr(t, "containers", "rm", "bad1"); err == nil {
		t.Fatal("removed a container with a running task")
	}
	st.MustCtr(t, "task", "kill", "-s", "9", "bad1")
	waitFor(t, 10*time.Second, func() error {
		_, err := st.Ctr(t, "task", "rm", "bad1")
		return err
	})
	if _, err := st.Ctr(t, "task", "exec", "--exec-id", "x", "bad1", "true"); err == nil {
		t.Fatal("exec into a deleted task succeeded")
	}
	// A spec the runtime refuses (runc and crun alike): its message, after
	// the runtime's name, reaches the caller, and nothing is left.
	_, err := st.Ctr(t, "run", "--rm", "--with-ns", "network:/nonexistent/ns", image, "badspec", "true")
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/ns") ||
		!(strings.Contains(err.Error(), "runc") || strings.Contains(err.Error(), "crun")) {
		t.Fatalf("spec the runtime refuses: %v", err)
	}
	shims, _ := os.ReadDir(st.State + "/shims/default")
	for _, s := range shims {
		if s.Name() == "badspec" {
			t.Fatal("failed create left its shim directory")
		}
	}
}

func TestContainersSurviveTaskdKillAndExitsArePublishedOnce(t *testing.T) {
	st := runningStack(t)
	st.MustCtr(t, "run", "-d", image, "survivor", "sleep", "1000")
	st.MustCtr(t, "run", "-d", image, "ender", "sleep", "1000")
	pid := taskPid(t, st, "ender")
	st.Kill(t, "taskd")
	// The container exits while taskd is down; its shim records the exit.
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() error {
		_, err := os.Stat(st.State + "/shims/default/ender/exits.json")
		return err
	})
	st.StartDaemon(t, "taskd")
	if out := st.MustCtr(t, "task", "ls"); !lineHas(out, "survivor", "RUNNING") || !lineHas(out, "ender", "STOPPED") {
		t.Fatalf("after taskd restart:\n%s", out)
	}
	// Another restart must not publish the exit again.
	st.Restart(t, "taskd", true)
	waitFor(t, 10*time.Second, func() error {
		if n := exitEvents(t, st, "ender"); n != 1 {
			return fmt.Errorf("%d exit events for ender", n)
		}
		return nil
	})
	st.MustCtr(t, "task", "rm", "ender")
	st.MustCtr(t, "task", "kill", "-s", "9", "survivor")
	waitFor(t, 10*time.Second, func() error {
		if n := exitEvents(t, st, "survivor"); n != 1 {
			return fmt.Errorf("%d exit events for survivor", n)
		}
		return nil
	})
}

func taskPid(t *testing.T, st *harness.Stack, id string) int {
	for _, l := range strings.Split(st.MustCtr(t, "task", "ls"), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == id {
			pid, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
	}
	t.Fatalf("task %s not listed", id)
	return 0
}

// exitEvents counts the /tasks/exit events of a container's init process in
// the stack's event stream.
func exitEvents(t *testing.T, st *harness.Stack, id string) int {
	envs, _ := bustest.EmbeddedEnvelopes(t, st.State)
	n := 0
	for _, env := range envs {
		if env.Topic != events.TopicTaskExit {
			continue
		}
		var ev apievents.TaskExit
		if err := env.Event.UnmarshalTo(&ev); err != nil {
			t.Fatal(err)
		}
		if ev.ContainerID == id && ev.ID == id {
			n++
		}
	}
	return n
}

// TestRuncBinaryNameIsHonoured runs through a wrapper named by ctr's
// --runc-binary (runc options' BinaryName).
func TestRuncBinaryNameIsHonoured(t *testing.T) {
	st := runningStack(t)
	dir := t.TempDir()
	trace := filepath.Join(dir, "calls")
	wrapper := filepath.Join(dir, "runc-wrapper")
	os.WriteFile(wrapper, []byte("#!/bin/sh\necho \"$@\" >> "+trace+"\nexec runc \"$@\"\n"), 0o755)
	out := st.MustCtr(t, "run", "--rm", "--runc-binary", wrapper, image, "wrapped", "echo", "via-wrapper")
	if !strings.Contains(out, "via-wrapper") {
		t.Fatalf("run printed %q", out)
	}
	calls, err := os.ReadFile(trace)
	if err != nil || !strings.Contains(string(calls), "create") {
		t.Fatalf("the wrapper was not used: %v %q", err, calls)
	}
}

// TestTaskWithDeadShimIsCleanedUp: a shim that died while taskd was down
// leaves no task, mount or directory once taskd is back.
func TestTaskWithDeadShimIsCleanedUp(t *testing.T) {
	st := runningStack(t)
	st.MustCtr(t, "run", "-d", image, "orphan", "sleep", "1000")
	pid := taskPid(t, st, "orphan")
	st.Kill(t, "taskd")
	shims, _ := exec.Command("pgrep", "-f", "berth-shim -id orphan -bundle "+st.State).Output()
	dead := []int{pid}
	for _, p := range strings.Fields(string(shims)) {
		n, _ := strconv.Atoi(p)
		syscall.Kill(n, syscall.SIGKILL)
		dead = append(dead, n)
	}
	if len(dead) == 1 {
		t.Fatal("no shim process found for the container")
	}
	syscall.Kill(pid, syscall.SIGKILL)
	// Until a killed shim has exited its socket still accepts connections,
	// and taskd would find it alive.
	waitFor(t, 20*time.Second, func() error {
		for _, p := range dead {
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p)); err == nil && !strings.Contains(string(b), ") Z ") {
				return fmt.Errorf("process %d still running", p)
			}
		}
		return nil
	})
	st.StartDaemon(t, "taskd")
	if out := st.MustCtr(t, "task", "ls"); strings.Contains(out, "orphan") {
		t.Fatalf("task of a dead shim still listed:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(st.State, "shims/default/orphan")); !os.IsNotExist(err) {
		t.Fatal("bundle of a dead shim left behind")
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mounts), filepath.Join(st.State, "shims/default/orphan")) {
		t.Fatal("rootfs of a dead shim still mounted")
	}
	st.MustCtr(t, "containers", "rm", "orphan")
}
