//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"

	"berth.dev/pkg/taskdclient"
	tasksv1 "berth.dev/proto/berth/tasks/v1"
	"berth.dev/test/e2e/harness"
)

// uriIO hands the shim stdio URIs as they are: the shim opens them, the
// client holds nothing.
type uriIO struct{ cfg cio.Config }

func (u *uriIO) Config() cio.Config { return u.cfg }
func (u *uriIO) Cancel()            {}
func (u *uriIO) Wait()              {}
func (u *uriIO) Close() error       { return nil }

// withURIs creates a task whose stdio are the given URIs (stdout's URI is
// also stderr's).
func withURIs(stdin, out string, terminal bool) cio.Creator {
	return func(string) (cio.IO, error) {
		return &uriIO{cio.Config{Stdin: stdin, Stdout: out, Stderr: out, Terminal: terminal}}, nil
	}
}

// startTask creates and starts c's task with io and returns it with its
// exit channel.
func startTask(t *testing.T, ctx context.Context, c containerd.Container, io cio.Creator) (containerd.Task, <-chan containerd.ExitStatus) {
	t.Helper()
	task, err := c.NewTask(ctx, io)
	if err != nil {
		t.Fatalf("create task: %v", err)
	}
	exited, err := task.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	return task, exited
}

// waitExit waits for a task's exit and returns its code.
func waitExit(t *testing.T, exited <-chan containerd.ExitStatus) uint32 {
	t.Helper()
	select {
	case st := <-exited:
		return st.ExitCode()
	case <-time.After(30 * time.Second):
		t.Fatal("task did not exit")
		return 0
	}
}

// taskd dials berth.tasks.v1 through the node socket.
func taskdClient(t *testing.T, st *harness.Stack) *taskdclient.Client {
	t.Helper()
	c, err := taskdclient.Dial(st.Socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// criEntry is one parsed CRI log line.
type criEntry struct {
	Time          time.Time
	Stream, Tag   string
	Content       string
	formattedTime string
}

var criLine = regexp.MustCompile(`^(\S+) (stdout|stderr) ([FP]) (.*)$`)

// readCRILog parses every line of a CRI log, failing on a malformed one.
func readCRILog(t *testing.T, path string) []criEntry {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []criEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		m := criLine.FindStringSubmatch(sc.Text())
		if m == nil {
			t.Fatalf("malformed CRI log line %q", sc.Text())
		}
		ts, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			t.Fatalf("timestamp of %q: %v", sc.Text(), err)
		}
		out = append(out, criEntry{Time: ts, Stream: m[2], Tag: m[3], Content: m[4], formattedTime: m[1]})
	}
	return out
}

func hasEntry(es []criEntry, stream, tag, content string) bool {
	for _, e := range es {
		if e.Stream == stream && e.Tag == tag && e.Content == content {
			return true
		}
	}
	return false
}

// waitEntry waits until the log at path has the entry.
func waitEntry(t *testing.T, path, stream, tag, content string) {
	t.Helper()
	waitFor(t, 20*time.Second, func() error {
		if es := readCRILog(t, path); !hasEntry(es, stream, tag, content) {
			return fmt.Errorf("no %s %s %q in %s: %+v", stream, tag, content, path, es)
		}
		return nil
	})
}

// attachOutput collects an attach stream's output until it ends.
type attachOutput struct {
	stdout, stderr strings.Builder
	done           chan error
	ch             chan string
}

func collect(a *taskdclient.AttachStream) *attachOutput {
	o := &attachOutput{done: make(chan error, 1), ch: make(chan string, 1024)}
	go func() {
		for {
			r, err := a.Recv()
			if err != nil {
				close(o.ch)
				if err == io.EOF {
					err = nil
				}
				o.done <- err
				return
			}
			prefix := "out:"
			if r.Stream == tasksv1.AttachResponse_STDERR {
				prefix = "err:"
			}
			o.ch <- prefix + string(r.Data)
		}
	}()
	return o
}

// waitOutput reads chunks until their concatenation (per stream, prefixed
// "out:" or "err:") contains want.
func (o *attachOutput) waitOutput(t *testing.T, stream, want string) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		b := &o.stdout
		if stream == "err:" {
			b = &o.stderr
		}
		if strings.Contains(b.String(), want) {
			return
		}
		select {
		case chunk, ok := <-o.ch:
			if !ok {
				t.Fatalf("attach stream ended before %q; stdout %q stderr %q", want, o.stdout.String(), o.stderr.String())
			}
			if strings.HasPrefix(chunk, "err:") {
				o.stderr.WriteString(chunk[4:])
			} else {
				o.stdout.WriteString(chunk[4:])
			}
		case <-timeout:
			t.Fatalf("no %q attached; stdout %q stderr %q", want, o.stdout.String(), o.stderr.String())
		}
	}
}

// waitEnd waits until the attach stream ended.
func (o *attachOutput) waitEnd(t *testing.T) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case _, ok := <-o.ch:
			if !ok {
				if err := <-o.done; err != nil {
					t.Fatalf("attach stream ended with %v", err)
				}
				return
			}
		case <-timeout:
			t.Fatal("attach stream did not end")
		}
	}
}

// waitGone waits until the attach stream ended, with an error or not.
func (o *attachOutput) waitGone(t *testing.T) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case _, ok := <-o.ch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("attach stream did not end")
		}
	}
}
