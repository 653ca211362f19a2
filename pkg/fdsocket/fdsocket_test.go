package fdsocket

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/containerd/errdefs"
)

func pair(t *testing.T) (*net.UnixConn, *net.UnixConn) {
	l, err := net.Listen("unix", filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	a, err := net.Dial("unix", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-accepted
	t.Cleanup(func() { a.Close(); b.Close() })
	return a.(*net.UnixConn), b.(*net.UnixConn)
}

func TestSendReceivesFileAndMessage(t *testing.T) {
	a, b := pair(t)
	path := filepath.Join(t.TempDir(), "f")
	os.WriteFile(path, []byte("held open"), 0o600)
	f, _ := os.Open(path)
	defer f.Close()
	if err := Send(a, map[string]string{"digest": "sha256:x"}, f); err != nil {
		t.Fatal(err)
	}
	var msg map[string]string
	got, err := Receive(b, &msg)
	if err != nil || got == nil {
		t.Fatalf("receive: %v %v", got, err)
	}
	defer got.Close()
	// The receiver reads the file through its own descriptor.
	os.Remove(path)
	data, _ := io.ReadAll(got)
	if string(data) != "held open" || msg["digest"] != "sha256:x" {
		t.Fatalf("got %q %v", data, msg)
	}
}

func TestReceiveWithoutFile(t *testing.T) {
	a, b := pair(t)
	Send(a, map[string]int{"n": 1}, nil)
	var msg map[string]int
	if f, err := Receive(b, &msg); err != nil || f != nil || msg["n"] != 1 {
		t.Fatalf("%v %v %v", f, err, msg)
	}
	a.Write([]byte("not json"))
	if _, err := Receive(b, &msg); err == nil {
		t.Fatal("garbage accepted")
	}
}

func TestErrorKindsSurviveTheSocket(t *testing.T) {
	for _, want := range []error{errdefs.ErrNotFound, errdefs.ErrAlreadyExists, errdefs.ErrResourceExhausted, errdefs.ErrOutOfRange, errdefs.ErrAborted} {
		err := fmt.Errorf("ingest x: %w", want)
		got := KindError(err.Error(), ErrorKind(err))
		if !errors.Is(got, want) || got.Error() != err.Error() {
			t.Fatalf("%v came back as %v", err, got)
		}
	}
	if got := KindError("plain", ErrorKind(errors.New("plain"))); ErrorKind(got) != "" || got.Error() != "plain" {
		t.Fatalf("an error of no class came back as %v", got)
	}
}
