//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
)

// TestStdioCRILogFormat runs processes whose output goes to crilog:// and
// checks every line is in the Kubernetes CRI log format: full lines,
// stderr, a trailing partial chunk, lines over 16 KiB, and a terminal
// (where everything is stdout).
func TestStdioCRILogFormat(t *testing.T) {
	st := runningStack(t)
	client, ctx := goClient(t, st, "default")
	dir := t.TempDir()

	logPath := filepath.Join(dir, "pods", "p1", "c1", "0.log") // parents do not exist yet
	c := newBusyboxContainer(t, ctx, client, "crilog-"+randomHex(t, 6), oci.WithProcessArgs("sh", "-c",
		`echo out1; echo err1 >&2; head -c 17000 /dev/zero | tr '\0' x; echo; printf partial`))
	task, exited := startTask(t, ctx, c, withURIs("", "crilog://"+logPath, false))
	if code := waitExit(t, exited); code != 0 {
		t.Fatalf("exit %d", code)
	}
	task.Delete(ctx)
	es := readCRILog(t, logPath)
	long := strings.Repeat("x", 17000)
	for _, want := range []criEntry{
		{Stream: "stdout", Tag: "F", Content: "out1"},
		{Stream: "stderr", Tag: "F", Content: "err1"},
		{Stream: "stdout", Tag: "P", Content: long[:16384]},
		{Stream: "stdout", Tag: "F", Content: long[16384:]},
		{Stream: "stdout", Tag: "P", Content: "partial"},
	} {
		if !hasEntry(es, want.Stream, want.Tag, want.Content) {
			t.Errorf("no entry %s %s %.40q in %d entries", want.Stream, want.Tag, want.Content, len(es))
		}
	}
	if len(es) != 5 {
		t.Errorf("%d entries, want 5", len(es))
	}
	if fi, err := os.Stat(logPath); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("log mode: %v %v", fi.Mode(), err)
	}

	// With a terminal everything is stdout.
	ttyLog := filepath.Join(dir, "tty.log")
	c2 := newBusyboxContainer(t, ctx, client, "crilogtty-"+randomHex(t, 6), oci.WithTTY,
		oci.WithProcessArgs("sh", "-c", "echo tty-out; echo tty-err >&2"))
	task2, exited2 := startTask(t, ctx, c2, withURIs("", "crilog://"+ttyLog, true))
	waitExit(t, exited2)
	task2.Delete(ctx)
	es = readCRILog(t, ttyLog)
	var contents []string
	for _, e := range es {
		if e.Stream != "stdout" {
			t.Errorf("terminal output tagged %s: %+v", e.Stream, e)
		}
		contents = append(contents, strings.TrimSuffix(e.Content, "\r"))
	}
	if strings.Join(contents, "|") != "tty-out|tty-err" {
		t.Errorf("terminal log entries %q", contents)
	}
}

// TestStdioAttachAndReopen attaches to `cat` (stdin attach://) through the
// node socket: input comes back as output to every attached client and into
// the CRI log; the log is reopened after a rename, keeps being written by
// the shim across a taskd restart, and closing stdin ends the process and
// the streams.
func TestStdioAttachAndReopen(t *testing.T) {
	st := runningStack(t)
	client, ctx := goClient(t, st, "default")
	tc := taskdClient(t, st)
	logPath := filepath.Join(t.TempDir(), "cat.log")
	id := "attach-" + randomHex(t, 6)
	c := newBusyboxContainer(t, ctx, client, id, oci.WithProcessArgs("cat"))

	// Reopening needs a running task with a log.
	if err := tc.ReopenLog(ctx, "missing-"+id); !errdefs.IsNotFound(err) {
		t.Fatalf("reopen of an unknown task: %v", err)
	}
	task, err := c.NewTask(ctx, withURIs("attach://", "crilog://"+logPath, false))
	if err != nil {
		t.Fatal(err)
	}
	if err := tc.ReopenLog(ctx, id); !errdefs.IsFailedPrecondition(err) {
		t.Fatalf("reopen of a created task: %v", err)
	}
	exited, _ := task.Wait(ctx)
	if err := task.Start(ctx); err != nil {
		t.Fatal(err)
	}

	if _, err := tc.Attach(ctx, "missing-"+id); !errdefs.IsNotFound(err) {
		t.Fatalf("attach to an unknown task: %v", err)
	}
	a1, err := tc.Attach(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := tc.Attach(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	out1, out2 := collect(a1), collect(a2)
	a1.Write([]byte("hello\n"))
	out1.waitOutput(t, "out:", "hello\n")
	out2.waitOutput(t, "out:", "hello\n")
	waitEntry(t, logPath, "stdout", "F", "hello")

	// Rotation: rename, reopen, and new output goes to the new file.
	if err := os.Rename(logPath, logPath+".1"); err != nil {
		t.Fatal(err)
	}
	if err := tc.ReopenLog(ctx, id); err != nil {
		t.Fatal(err)
	}
	a2.Write([]byte("rotated\n"))
	waitEntry(t, logPath, "stdout", "F", "rotated")
	if hasEntry(readCRILog(t, logPath+".1"), "stdout", "F", "rotated") {
		t.Fatal("output after reopening went to the renamed file")
	}

	// The shim owns the log: it is written while taskd is down and after.
	st.Restart(t, "taskd", true)
	out2.waitGone(t)           // attach streams go with taskd
	exited, _ = task.Wait(ctx) // so did the Wait call
	a3, err := tc.Attach(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	out3 := collect(a3)
	a3.Write([]byte("after-restart\n"))
	out3.waitOutput(t, "out:", "after-restart\n")
	waitEntry(t, logPath, "stdout", "F", "after-restart")
	if err := tc.ReopenLog(ctx, id); err != nil {
		t.Fatalf("reopen after taskd restart: %v", err)
	}

	if err := a3.CloseStdin(); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, exited); code != 0 {
		t.Fatalf("cat exited %d", code)
	}
	out3.waitEnd(t)
	if err := tc.ReopenLog(ctx, id); !errdefs.IsFailedPrecondition(err) {
		t.Fatalf("reopen of a stopped task: %v", err)
	}
	task.Delete(ctx)
}

// TestStdioAttachStdinOnce closes stdin (attach://?once=true) when the
// first attached client is done sending.
func TestStdioAttachStdinOnce(t *testing.T) {
	st := runningStack(t)
	client, ctx := goClient(t, st, "default")
	tc := taskdClient(t, st)
	logPath := filepath.Join(t.TempDir(), "once.log")
	id := "once-" + randomHex(t, 6)
	c := newBusyboxContainer(t, ctx, client, id, oci.WithProcessArgs("sh", "-c", "cat; echo stdin-closed >&2"))
	task, exited := startTask(t, ctx, c, withURIs("attach://?once=true", "crilog://"+logPath, false))
	a, err := tc.Attach(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	out := collect(a)
	a.Write([]byte("once\n"))
	out.waitOutput(t, "out:", "once\n")
	a.CloseSend()
	out.waitOutput(t, "err:", "stdin-closed\n")
	if code := waitExit(t, exited); code != 0 {
		t.Fatalf("exit %d", code)
	}
	out.waitEnd(t)
	waitEntry(t, logPath, "stderr", "F", "stdin-closed")
	task.Delete(ctx)
}

// TestStdioAttachResize resizes an attached terminal and reads the size
// back from stty inside the container.
func TestStdioAttachResize(t *testing.T) {
	st := runningStack(t)
	client, ctx := goClient(t, st, "default")
	tc := taskdClient(t, st)
	logPath := filepath.Join(t.TempDir(), "tty.log")
	id := "resize-" + randomHex(t, 6)
	c := newBusyboxContainer(t, ctx, client, id, oci.WithTTY,
		oci.WithProcessArgs("sh", "-c", "read line; stty size; read line; stty size"))
	task, exited := startTask(t, ctx, c, withURIs("attach://", "crilog://"+logPath, true))
	a, err := tc.Attach(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	out := collect(a)
	a.Resize(100, 40)
	a.Write([]byte("go\n"))
	out.waitOutput(t, "out:", "40 100")
	a.Resize(132, 50)
	a.Write([]byte("go\n"))
	out.waitOutput(t, "out:", "50 132")
	waitExit(t, exited)
	out.waitEnd(t)
	if out.stderr.Len() != 0 {
		t.Fatalf("terminal output on stderr: %q", out.stderr.String())
	}
	waitFor(t, 20*time.Second, func() error {
		for _, e := range readCRILog(t, logPath) {
			if e.Stream == "stdout" && e.Tag == "F" && strings.TrimSuffix(e.Content, "\r") == "50 132" {
				return nil
			}
		}
		return fmt.Errorf("no stty size in the log")
	})
	task.Delete(ctx)
}

// TestStdioSlowAttacherNeverBlocks attaches a client that never reads while
// the process writes far more than any buffer holds: the process still runs
// to its end and every line reaches the log.
func TestStdioSlowAttacherNeverBlocks(t *testing.T) {
	st := runningStack(t)
	client, ctx := goClient(t, st, "default")
	tc := taskdClient(t, st)
	logPath := filepath.Join(t.TempDir(), "flood.log")
	id := "flood-" + randomHex(t, 6)
	const lines = 200000
	c := newBusyboxContainer(t, ctx, client, id, oci.WithProcessArgs("sh", "-c", fmt.Sprintf("read x; seq 1 %d", lines)))
	task, exited := startTask(t, ctx, c, withURIs("attach://", "crilog://"+logPath, false))
	slow, err := tc.Attach(ctx, id) // never read from
	if err != nil {
		t.Fatal(err)
	}
	slow.Write([]byte("go\n"))
	if code := waitExit(t, exited); code != 0 {
		t.Fatalf("exit %d", code)
	}
	es := readCRILog(t, logPath)
	if len(es) != lines || es[0].Content != "1" || es[lines-1].Content != fmt.Sprint(lines) {
		t.Fatalf("%d log entries, want %d", len(es), lines)
	}
	task.Delete(ctx)
}
