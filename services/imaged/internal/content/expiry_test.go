package content

import (
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
)

// A writer that stopped writing loses its ingest after the timeout: its
// next write is Aborted, the ref is free for another writer, the partial
// data is gone, and the old writer's Close does not release the new one.
func TestIdleWriterExpires(t *testing.T) {
	s := newStore(t)
	s.IngestTimeout = time.Minute
	w, err := s.Writer(ctx, "stalled", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("partial"))
	if n := s.ExpireIngests(time.Now().Add(30 * time.Second)); n != 0 {
		t.Fatalf("%d ingests expired within the timeout", n)
	}
	if n := s.ExpireIngests(time.Now().Add(2 * time.Minute)); n != 1 {
		t.Fatalf("%d ingests expired after the timeout, want 1", n)
	}
	select {
	case <-w.Expired():
	default:
		t.Fatal("the writer was not told its ingest expired")
	}
	if _, err := w.Write([]byte("more")); !errdefs.IsAborted(err) {
		t.Fatalf("write after expiry: %v, want Aborted", err)
	}
	if err := w.Commit(ctx, 0, "", nil); !errdefs.IsAborted(err) {
		t.Fatalf("commit after expiry: %v, want Aborted", err)
	}
	if _, err := s.Status(ctx, "stalled"); !errdefs.IsNotFound(err) {
		t.Fatalf("status of the expired ingest: %v, want NotFound", err)
	}
	w2, err := s.Writer(ctx, "stalled", 0, "")
	if err != nil {
		t.Fatalf("the expired ref is still taken: %v", err)
	}
	defer w2.Close()
	if off := w2.Status().Offset; off != 0 {
		t.Fatalf("a new writer of the expired ref starts at %d", off)
	}
	w.Close()
	if _, err := s.Writer(ctx, "stalled", 0, ""); !errdefs.IsUnavailable(err) {
		t.Fatalf("the expired writer's Close released its successor's lock: %v", err)
	}
}

// Within the timeout an ingest, held or not, stays, and a resumed write
// continues where it stopped; past it, an ingest nobody holds is removed.
func TestIngestResumedWithinTimeoutContinues(t *testing.T) {
	s := newStore(t)
	s.IngestTimeout = time.Minute
	data := []byte("resumed within the timeout")
	dgst := digest.FromBytes(data)
	w, err := s.Writer(ctx, "resumed", int64(len(data)), dgst.String())
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data[:7])
	w.Close()
	if n := s.ExpireIngests(time.Now().Add(30 * time.Second)); n != 0 {
		t.Fatalf("%d ingests expired within the timeout", n)
	}
	w, err = s.Writer(ctx, "resumed", int64(len(data)), dgst.String())
	if err != nil {
		t.Fatal(err)
	}
	if off := w.Status().Offset; off != 7 {
		t.Fatalf("resumed at %d, want 7", off)
	}
	w.Write(data[7:])
	if err := w.Commit(ctx, int64(len(data)), dgst.String(), nil); err != nil {
		t.Fatal(err)
	}

	left, err := s.Writer(ctx, "left", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	left.Write([]byte("abandoned"))
	left.Close()
	if n := s.ExpireIngests(time.Now().Add(2 * time.Minute)); n != 1 {
		t.Fatalf("%d ingests expired, want the abandoned one", n)
	}
	if _, err := s.Status(ctx, "left"); !errdefs.IsNotFound(err) {
		t.Fatalf("an abandoned ingest outlived the timeout: %v", err)
	}
	if _, err := s.Info(ctx, dgst.String()); err != nil {
		t.Fatalf("the committed blob: %v", err)
	}
}
