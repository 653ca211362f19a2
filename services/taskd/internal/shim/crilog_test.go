package shim

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

type bufCloser struct {
	bytes.Buffer
	writes int
}

func (b *bufCloser) Write(p []byte) (int, error) { b.writes++; return b.Buffer.Write(p) }
func (b *bufCloser) Close() error                { return nil }

func TestCRIStreamFormat(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	ts := at.Format(time.RFC3339Nano)
	long := strings.Repeat("x", criMaxLine+10)
	tests := []struct {
		name   string
		writes []string
		want   []string
	}{
		{"full lines", []string{"a\nb\n"}, []string{"F a", "F b"}},
		{"line across writes", []string{"he", "llo\n"}, []string{"F hello"}},
		{"empty line", []string{"\n"}, []string{"F "}},
		{"trailing chunk at close", []string{"a\nno newline"}, []string{"F a", "P no newline"}},
		{"long line", []string{long + "\n"}, []string{"P " + long[:criMaxLine], "F " + long[criMaxLine:]}},
		{"long chunk without newline", []string{long}, []string{"P " + long[:criMaxLine], "P " + long[criMaxLine:]}},
		{"line of exactly the limit", []string{long[:criMaxLine] + "\n"}, []string{"F " + long[:criMaxLine]}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bufCloser
			c := newCRIStream(&out, "stderr")
			c.now = func() time.Time { return at }
			for _, w := range tc.writes {
				if _, err := c.Write([]byte(w)); err != nil {
					t.Fatal(err)
				}
			}
			c.Close()
			var want string
			for _, w := range tc.want {
				want += ts + " stderr " + w + "\n"
			}
			if out.String() != want {
				t.Fatalf("got\n%q\nwant\n%q", out.String(), want)
			}
			if out.writes != len(tc.want) {
				t.Fatalf("%d writes for %d entries: entries must be written whole", out.writes, len(tc.want))
			}
		})
	}
}

func TestParseStdio(t *testing.T) {
	good := []Stdio{
		{},
		{Stdin: "/run/fifo/in", Stdout: "/run/fifo/out", Stderr: "/run/fifo/err"},
		{Stdin: "attach://", Stdout: "crilog:///var/log/pods/a/0.log", Stderr: "crilog:///var/log/pods/a/0.log"},
		{Stdin: "attach://?once=true", Stdout: "file:///tmp/out.log"},
		{Stdout: "binary:///usr/bin/logger?a=b"},
	}
	for _, s := range good {
		if err := ValidateStdio(s); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
	bad := []Stdio{
		{Stdout: "tcp://1.2.3.4:5"},
		{Stdout: "crilog://relative/path"},
		{Stdout: "file://"},
		{Stdin: "attach://?once=maybe"},
		{Stdin: "file:///etc/passwd"},
		{Stderr: "crilog:///var/log/x.log"},
	}
	for _, s := range bad {
		if err := ValidateStdio(s); err == nil || !strings.Contains(err.Error(), "invalid argument") {
			t.Errorf("%+v: %v, want invalid argument", s, err)
		}
	}
	in, _ := parseInput("attach://?once=true")
	if in.kind != inAttach || !in.once {
		t.Fatalf("%+v", in)
	}
}
