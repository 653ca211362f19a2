package content

import (
	"errors"
	"os"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
)

// A write that finds the filesystem full is ResourceExhausted (/dev/full
// answers every write with ENOSPC), and nothing of it is visible.
func TestWriteOntoFullDiskIsResourceExhausted(t *testing.T) {
	s := newStore(t)
	data := []byte("no room for this")
	dgst := digest.FromBytes(data)
	w, err := s.Writer(ctx, "full", int64(len(data)), dgst.String())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	devFull, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	w.f.Close()
	w.f = devFull
	if _, err := w.Write(data); !errdefs.IsResourceExhausted(err) {
		t.Fatalf("write onto a full disk: %v, want ResourceExhausted", err)
	}
	if _, err := s.Info(ctx, dgst.String()); !errdefs.IsNotFound(err) {
		t.Fatalf("a blob whose write ran out of space is visible: %v", err)
	}
}

func TestFullLeavesOtherErrorsAlone(t *testing.T) {
	other := errors.New("permission denied")
	if err := full("x", other); err != other {
		t.Fatalf("full changed %v into %v", other, err)
	}
}
