package shim

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// fakePipes stands in for runc's pipes: the process's stdin is w.
type fakePipes struct{ w *os.File }

func (p fakePipes) Stdin() io.WriteCloser { return p.w }
func (p fakePipes) Stdout() io.ReadCloser { return nil }
func (p fakePipes) Stderr() io.ReadCloser { return nil }
func (p fakePipes) Close() error          { return p.w.Close() }
func (p fakePipes) Set(*exec.Cmd)         {}

// TestCloseIOKeepsInputInTheFifo: a client that asks CloseIO before its
// input has gone through the fifo still has all of it delivered, and the
// process sees EOF after it.
func TestCloseIOKeepsInputInTheFifo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stdin")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s := &stdio{in: input{kind: inFifo, path: path}, hub: newHub(), pipes: fakePipes{w}}
	s.startStdin(w, w)
	client, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	s.closeStdin()
	client.WriteString("input")
	client.Close()
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "input" {
		t.Fatalf("the process read %q, %v", got, err)
	}
}
