package crilog

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
)

func TestParseLine(t *testing.T) {
	e, err := ParseLine([]byte("2026-01-02T03:04:05.123456789Z stderr P hello world"))
	if err != nil || e.Stream != "stderr" || !e.Partial || string(e.Msg) != "hello world" || e.Time.Nanosecond() != 123456789 {
		t.Fatalf("%+v %v", e, err)
	}
	if e, err := ParseLine([]byte("2026-01-02T03:04:05Z stdout F")); err != nil || len(e.Msg) != 0 {
		t.Fatalf("empty line: %+v %v", e, err)
	}
	for _, bad := range []string{"", "x stdout F a", "2026-01-02T03:04:05Z stdin F a", "2026-01-02T03:04:05Z stdout X a"} {
		if _, err := ParseLine([]byte(bad)); !errdefs.IsInvalidArgument(err) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

const sample = `2026-01-02T03:04:05.000000001Z stdout F one
2026-01-02T03:04:06.000000002Z stderr F oops
2026-01-02T03:04:07.000000003Z stdout P tw
2026-01-02T03:04:07.000000004Z stdout F o
2026-01-02T03:04:08.000000005Z stdout F three
`

func writeLog(t *testing.T, content string) string {
	path := filepath.Join(t.TempDir(), "c.log")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCopyJoinsPartialsSplitsStreamsAndTails(t *testing.T) {
	path := writeLog(t, sample)
	var out, errOut bytes.Buffer
	if err := Copy(context.Background(), path, Options{Tail: -1, Stdout: &out, Stderr: &errOut}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "one\ntwo\nthree\n" || errOut.String() != "oops\n" {
		t.Fatalf("stdout %q stderr %q", out.String(), errOut.String())
	}
	out.Reset()
	Copy(context.Background(), path, Options{Tail: 1, Timestamps: true, Stdout: &out, Stderr: &out})
	if out.String() != "2026-01-02T03:04:08.000000005Z three\n" {
		t.Fatalf("tail 1 with timestamps: %q", out.String())
	}
}

// syncBuffer is written by Copy's goroutine and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFollowAcrossRotationUntilDone(t *testing.T) {
	path := writeLog(t, "2026-01-02T03:04:05Z stdout F first\n")
	var out syncBuffer
	var mu sync.Mutex
	stopped := false
	done := make(chan error, 1)
	go func() {
		done <- Copy(context.Background(), path, Options{Tail: -1, Follow: true, Stdout: &out, Stderr: &out, Poll: 5 * time.Millisecond,
			Done: func() bool { mu.Lock(); defer mu.Unlock(); return stopped }})
	}()
	waitFor(t, "first", func() bool { return out.String() == "first\n" })

	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("2026-01-02T03:04:06Z stdout F sec") // no newline yet: not printed
	f.WriteString("ond\n")
	f.Close()
	waitFor(t, "second", func() bool { return strings.HasSuffix(out.String(), "second\n") })

	os.Rename(path, path+".1")
	os.WriteFile(path, []byte("2026-01-02T03:04:07Z stdout F after rotation\n"), 0o644)
	waitFor(t, "rotation", func() bool { return strings.HasSuffix(out.String(), "after rotation\n") })

	mu.Lock()
	stopped = true
	mu.Unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if out.String() != "first\nsecond\nafter rotation\n" {
		t.Fatalf("%q", out.String())
	}
}
