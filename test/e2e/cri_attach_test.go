//go:build e2e

package e2e

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/remotecommand"
	criapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// attachSession is one CRI attach with a stdin the test types into.
type attachSession struct {
	typed  *io.PipeWriter
	stdout *syncBuffer
	done   chan error
}

func attachTo(t *testing.T, rs criapi.RuntimeService, id string, tty bool) *attachSession {
	t.Helper()
	resp, err := rs.Attach(context.Background(), &runtimeapi.AttachRequest{ContainerId: id, Stdin: true, Stdout: true, Stderr: !tty, Tty: tty})
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	in, typed := io.Pipe()
	a := &attachSession{typed: typed, stdout: &syncBuffer{}, done: make(chan error, 1)}
	opts := remotecommand.StreamOptions{Stdin: in, Stdout: a.stdout, Tty: tty}
	if !tty {
		opts.Stderr = io.Discard
	}
	go func() { a.done <- stream(t, resp.Url, opts) }()
	t.Cleanup(func() { typed.Close() })
	return a
}

// answered types line until the container answers it through the attach
// (lines typed before the attach is joined reach no one).
func (a *attachSession) answered(t *testing.T, line string) {
	t.Helper()
	eventually(t, "an answer to "+line, func() bool {
		a.typed.Write([]byte(line + "\n"))
		return strings.Contains(a.stdout.String(), "got:"+line)
	})
}

func (a *attachSession) ends(t *testing.T, why string) {
	t.Helper()
	select {
	case err := <-a.done:
		if err != nil {
			t.Fatalf("attach ended with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("attach did not end when %s", why)
	}
}

func running(t *testing.T, rs criapi.RuntimeService, id string) bool {
	st, err := rs.ContainerStatus(context.Background(), id, false)
	if err != nil {
		t.Fatal(err)
	}
	return st.GetStatus().GetState() == runtimeapi.ContainerState_CONTAINER_RUNNING
}

// TestCRIAttachStdinEnd checks what the end of an attach's stdin does, as
// containerd does it: for a StdinOnce container without a terminal it
// closes the container's stdin and the attach lasts until the process
// exits; otherwise (no StdinOnce, or a terminal) it ends the attach and
// the container's stdin stays open for the next one.
func TestCRIAttachStdinEnd(t *testing.T) {
	rs, is := execStack(t)
	podCfg := podConfig(t, "attachend")
	pod := runPod(t, rs, podCfg)
	const reader = "while read line; do echo got:$line; done; echo eof-seen"
	start := func(name string, once, tty bool) string {
		return startPulled(t, rs, is, pod, podCfg, &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: name},
			Command:  []string{"sh", "-c", reader + "; sleep 3600"},
			Stdin:    true, StdinOnce: once, Tty: tty,
		})
	}

	t.Run("stdin once", func(t *testing.T) {
		id := start("once", true, false)
		a := attachTo(t, rs, id, false)
		a.answered(t, "one")
		a.typed.Close()
		eventually(t, "the container to see its stdin end", func() bool { return strings.Contains(a.stdout.String(), "eof-seen") })
		if err := rs.StopContainer(context.Background(), id, 0); err != nil {
			t.Fatal(err)
		}
		a.ends(t, "the container stopped")
	})

	for _, c := range []struct {
		name      string
		once, tty bool
	}{{"plain", false, false}, {"terminal-once", true, true}} {
		t.Run(c.name, func(t *testing.T) {
			id := start(c.name, c.once, c.tty)
			first := attachTo(t, rs, id, c.tty)
			first.answered(t, "one")
			first.typed.Close()
			first.ends(t, "its stdin ended")
			if !running(t, rs, id) {
				t.Fatal("the container stopped when the attach's stdin ended")
			}
			// Its stdin is still open: a second attach is answered.
			second := attachTo(t, rs, id, c.tty)
			second.answered(t, "two")
			if strings.Contains(first.stdout.String()+second.stdout.String(), "eof-seen") {
				t.Fatal("the container's stdin was closed")
			}
			second.typed.Close()
			second.ends(t, "its stdin ended")
		})
	}
}
