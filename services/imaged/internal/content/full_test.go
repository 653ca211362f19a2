package content

import (
	"errors"
	"os"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"

	"berth.dev/pkg/directio"
)

// A write that finds the filesystem full is ResourceExhausted (/dev/full
// answers every write with ENOSPC), and nothing of it is visible: at the
// write when it reaches the file, at the commit for bytes the writer held
// for its next direct write.
func TestWriteOntoFullDiskIsResourceExhausted(t *testing.T) {
	t.Run("write", func(t *testing.T) { testFullDisk(t, make([]byte, directio.ChunkSize+16), false) })
	t.Run("commit", func(t *testing.T) { testFullDisk(t, []byte("no room for this"), true) })
}

func testFullDisk(t *testing.T, data []byte, atCommit bool) {
	s := newStore(t)
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
	w.f, w.out = devFull, directio.NewWriter(devFull, 0)
	_, err = w.Write(data)
	if atCommit && err == nil {
		err = w.Commit(ctx, int64(len(data)), dgst.String(), nil)
	}
	if !errdefs.IsResourceExhausted(err) {
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
