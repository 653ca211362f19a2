//go:build integration

package content

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"berth.dev/pkg/store/storetest"
)

// A write opened on a full content filesystem fails with ResourceExhausted
// and leaves no ingest behind: nothing would list it (its meta.json could
// not be written) nor remove it before the ingest timeout, and the chaos
// run found it after every collection.
func TestWriterOpenedOntoFullDiskLeavesNoIngest(t *testing.T) {
	s, root := storeOnTmpfs(t, "256k")
	filler := filepath.Join(root, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	for err == nil {
		_, err = f.Write(bytes.Repeat([]byte{0}, 4096))
	}
	f.Close()

	if _, err := s.Writer(ctx, "onto-full", 0, ""); !errdefs.IsResourceExhausted(err) {
		t.Fatalf("a write opened onto a full disk: %v, want ResourceExhausted", err)
	}
	if _, err := os.Stat(s.ingestDir("test", "onto-full")); !os.IsNotExist(err) {
		t.Fatalf("the failed open left its ingest directory: %v", err)
	}
	os.Remove(filler)
	w, err := s.Writer(ctx, "onto-full", 0, "")
	if err != nil {
		t.Fatalf("a write opened once there is room: %v", err)
	}
	w.Close()
}

// A blob larger than the room left fails with ResourceExhausted whether
// its chunks went to the disk directly or through the page cache, at the
// write or at the latest at the commit, and is not recorded.
func TestBlobLargerThanTheRoomLeftIsResourceExhausted(t *testing.T) {
	s, _ := storeOnTmpfs(t, "4m")
	data := bytes.Repeat([]byte("too large "), 800000) // 8 MB
	dgst := digest.FromBytes(data)
	w, err := s.Writer(ctx, "too-large", int64(len(data)), dgst.String())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for p := data; len(p) > 0 && err == nil; p = p[min(len(p), 100000):] {
		_, err = w.Write(p[:min(len(p), 100000)])
	}
	if err == nil {
		err = w.Commit(ctx, int64(len(data)), dgst.String(), nil)
	}
	if !errdefs.IsResourceExhausted(err) {
		t.Fatalf("a blob larger than the room left: %v, want ResourceExhausted", err)
	}
	if _, err := s.Info(ctx, dgst.String()); !errdefs.IsNotFound(err) {
		t.Fatalf("the blob that did not fit is recorded: %v", err)
	}
}

// storeOnTmpfs opens a content store on a tmpfs of the given size, which
// the test unmounts when it ends.
func storeOnTmpfs(t *testing.T, size string) (*Store, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	root := t.TempDir()
	if err := unix.Mount("tmpfs", root, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(root, unix.MNT_DETACH) })
	db, ob := storetest.OpenWithOutbox(t, "test")
	s, err := New(root, db, ob)
	if err != nil {
		t.Fatal(err)
	}
	return s, root
}
