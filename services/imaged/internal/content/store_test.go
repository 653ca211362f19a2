package content

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"

	"berth.dev/pkg/namespace"
	"berth.dev/pkg/store/storetest"
)

func newStore(t *testing.T) *Store {
	db, ob := storetest.OpenWithOutbox(t, "test")
	s, err := New(t.TempDir(), db, ob)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var ctx = namespace.WithNamespace(context.Background(), "test")

func TestWriteResumeCommitRead(t *testing.T) {
	s := newStore(t)
	data := []byte("hello, resumable world")
	dgst := digest.FromBytes(data)
	w, err := s.Writer(ctx, "ref1", int64(len(data)), dgst.String())
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data[:5])
	w.Close()
	// A second writer resumes at the offset the first reached.
	w, err = s.Writer(ctx, "ref1", int64(len(data)), dgst.String())
	if err != nil {
		t.Fatal(err)
	}
	if off := w.Status().Offset; off != 5 {
		t.Fatalf("resumed at %d", off)
	}
	w.Write(data[5:])
	if err := w.Commit(ctx, int64(len(data)), dgst.String(), map[string]string{"a": "b"}); err != nil {
		t.Fatal(err)
	}
	f, info, err := s.Open(ctx, dgst.String())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, _ := io.ReadAll(f)
	if string(got) != string(data) || info.Labels["a"] != "b" || info.Size != int64(len(data)) {
		t.Fatalf("read back %q %+v", got, info)
	}
	if _, err := s.Status(ctx, "ref1"); !errdefs.IsNotFound(err) {
		t.Fatalf("ingest still there after commit: %v", err)
	}
}

func TestCommitVerifies(t *testing.T) {
	s := newStore(t)
	data := []byte("payload")
	for name, tc := range map[string]struct {
		size     int64
		expected string
	}{
		"digest mismatch": {int64(len(data)), digest.FromString("other").String()},
		"truncated":       {int64(len(data) + 10), ""},
	} {
		w, err := s.Writer(ctx, name, 0, "")
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		err = w.Commit(ctx, tc.size, tc.expected, nil)
		w.Close()
		if !errdefs.IsFailedPrecondition(err) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	// Nothing became visible.
	if infos, _ := s.List(ctx); len(infos) != 0 {
		t.Fatalf("failed commits left %v", infos)
	}
	blobs, _ := filepath.Glob(filepath.Join(s.root, "blobs", "sha256", "*"))
	if len(blobs) != 0 {
		t.Fatalf("failed commits left blobs %v", blobs)
	}
}

func TestRefLockedAndDuplicates(t *testing.T) {
	s := newStore(t)
	w, err := s.Writer(ctx, "locked", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Writer(ctx, "locked", 0, ""); !errdefs.IsUnavailable(err) {
		t.Fatalf("second writer on a held ref: %v", err)
	}
	w.Write([]byte("x"))
	if err := w.Commit(ctx, 1, "", nil); err != nil {
		t.Fatal(err)
	}
	w2, _ := s.Writer(ctx, "again", 0, "")
	w2.Write([]byte("x"))
	if err := w2.Commit(ctx, 1, "", nil); !errdefs.IsAlreadyExists(err) {
		t.Fatalf("committing present content: %v", err)
	}
	// Another namespace shares the blob but has its own record.
	other := namespace.WithNamespace(context.Background(), "other")
	if _, err := s.Info(other, digest.FromString("x").String()); !errdefs.IsNotFound(err) {
		t.Fatalf("content visible in another namespace: %v", err)
	}
	if err := s.Delete(ctx, digest.FromString("x").String()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.blobPath(digest.FromString("x"))); !os.IsNotExist(err) {
		t.Fatal("blob left on disk with no namespace holding it")
	}
}

func TestBadInput(t *testing.T) {
	s := newStore(t)
	if _, err := s.Info(ctx, "sha256:nothex"); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("malformed digest: %v", err)
	}
	if _, err := s.Info(ctx, digest.FromString("absent").String()); !errdefs.IsNotFound(err) {
		t.Fatalf("absent digest: %v", err)
	}
	if _, err := s.Writer(ctx, "", 0, ""); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("empty ref: %v", err)
	}
	if _, err := s.Info(context.Background(), digest.FromString("x").String()); !errdefs.IsFailedPrecondition(err) {
		t.Fatalf("no namespace: %v", err)
	}
	if err := s.Abort(ctx, "never"); !errdefs.IsNotFound(err) {
		t.Fatalf("abort of an unknown ref: %v", err)
	}
}

// TestLargeWriteAcrossWriteBackChunks writes a blob past several write-out
// chunks in uneven pieces, truncates and rewrites it, resumes it, and
// reads back exactly what was written.
func TestLargeWriteAcrossWriteBackChunks(t *testing.T) {
	s := newStore(t)
	data := make([]byte, 3*writeBackChunk+777)
	for i := range data {
		data[i] = byte(i*13 + i/8191)
	}
	dgst := digest.FromBytes(data)
	w, err := s.Writer(ctx, "big", int64(len(data)), dgst.String())
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data[:writeBackChunk+5])
	if err := w.Truncate(0); err != nil {
		t.Fatal(err)
	}
	half := len(data) / 2
	for off := 0; off < half; off += 3 << 20 {
		w.Write(data[off:min(off+3<<20, half)])
	}
	w.Close()
	if w, err = s.Writer(ctx, "big", int64(len(data)), dgst.String()); err != nil {
		t.Fatal(err)
	}
	w.Write(data[half:])
	if err := w.Commit(ctx, int64(len(data)), dgst.String(), nil); err != nil {
		t.Fatal(err)
	}
	f, _, err := s.Open(ctx, dgst.String())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, _ := io.ReadAll(f); digest.FromBytes(got) != dgst {
		t.Fatalf("read back %d bytes that differ from the %d written", len(got), len(data))
	}
}
