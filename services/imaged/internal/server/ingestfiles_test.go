package server

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"

	"berth.dev/pkg/imagedclient"
	"berth.dev/pkg/namespace"
	"berth.dev/pkg/store/storetest"
	"berth.dev/services/imaged/internal/content"
)

// ingestServer serves an ingest socket over a fresh content store.
func ingestServer(t *testing.T) (*content.Store, string) {
	t.Helper()
	db, ob := storetest.OpenWithOutbox(t, "test")
	cs, err := content.New(t.TempDir(), db, ob)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "ingest.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { (&IngestFiles{Store: cs}).Serve(ctx, l); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return cs, sock
}

var ingestCtx = namespace.WithNamespace(context.Background(), "test")

// write writes data into the session's file at off and reports it.
func write(t *testing.T, in *imagedclient.Ingest, off int64, data []byte) {
	t.Helper()
	if _, err := in.File.WriteAt(data, off); err != nil {
		t.Fatal(err)
	}
	if err := in.Wrote(int64(len(data))); err != nil {
		t.Fatal(err)
	}
}

func TestIngestSessionWritesResumesAndCommits(t *testing.T) {
	cs, sock := ingestServer(t)
	data := bytes.Repeat([]byte("written by the gateway "), 100000)
	dgst := digest.FromBytes(data)
	open := &imagedclient.IngestOpen{Namespace: "test", Ref: "r1", Total: int64(len(data)), Expected: dgst.String()}
	in, err := imagedclient.OpenIngest(ingestCtx, sock, open)
	if err != nil {
		t.Fatal(err)
	}
	write(t, in, 0, data[:1000])
	write(t, in, 1000, data[1000:5000])
	st, err := in.Do(&imagedclient.IngestRequest{Op: imagedclient.IngestStat})
	if err != nil || st.Offset != 5000 || st.Digest != digest.FromBytes(data[:5000]).String() {
		t.Fatalf("stat: %+v %v", st, err)
	}
	// A session that ends leaves the ingest for a resume.
	in.Close()
	in, err = imagedclient.OpenIngest(ingestCtx, sock, open)
	for errdefs.IsUnavailable(err) {
		// imaged releases the ref once it saw the session end.
		time.Sleep(time.Millisecond)
		in, err = imagedclient.OpenIngest(ingestCtx, sock, open)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if in.Opened.Offset != 5000 {
		t.Fatalf("resumed at %d, want 5000", in.Opened.Offset)
	}
	write(t, in, 5000, data[5000:])
	st, err = in.Do(&imagedclient.IngestRequest{Op: imagedclient.IngestCommit})
	if err != nil || st.Digest != dgst.String() || st.Offset != int64(len(data)) {
		t.Fatalf("commit: %+v %v", st, err)
	}
	f, info, err := cs.Open(ingestCtx, dgst.String())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, _ := os.ReadFile(f.Name())
	if info.Size != int64(len(data)) || !bytes.Equal(got, data) {
		t.Fatalf("blob of %d bytes differs from what was written", info.Size)
	}
}

func TestIngestSessionVerifiesWhatItHashed(t *testing.T) {
	_, sock := ingestServer(t)
	data := []byte("the bytes the client meant")
	open := &imagedclient.IngestOpen{Namespace: "test", Ref: "r2", Expected: digest.FromBytes(data).String()}
	in, err := imagedclient.OpenIngest(ingestCtx, sock, open)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	write(t, in, 0, []byte("other bytes of the same size"))
	if _, err := in.Do(&imagedclient.IngestRequest{Op: imagedclient.IngestCommit}); !errdefs.IsFailedPrecondition(err) {
		t.Fatalf("commit of the wrong bytes: %v, want FailedPrecondition", err)
	}
}

func TestIngestSessionRefusesBytesItWasNotTold(t *testing.T) {
	_, sock := ingestServer(t)
	data := []byte("reported")
	in, err := imagedclient.OpenIngest(ingestCtx, sock, &imagedclient.IngestOpen{Namespace: "test", Ref: "r3"})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	write(t, in, 0, data)
	// Written but never reported: it must not become part of the blob.
	in.File.WriteAt([]byte(" and more"), int64(len(data)))
	if _, err := in.Do(&imagedclient.IngestRequest{Op: imagedclient.IngestCommit}); !errdefs.IsFailedPrecondition(err) {
		t.Fatalf("commit with unreported bytes: %v, want FailedPrecondition", err)
	}
}

func TestIngestSessionTruncatesAndRefusesBadInput(t *testing.T) {
	cs, sock := ingestServer(t)
	if _, err := imagedclient.OpenIngest(ingestCtx, sock, &imagedclient.IngestOpen{Namespace: "test"}); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("open without a ref: %v, want InvalidArgument", err)
	}
	if _, err := imagedclient.OpenIngest(ingestCtx, sock, &imagedclient.IngestOpen{Namespace: "no/such", Ref: "x"}); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("open in a bad namespace: %v, want InvalidArgument", err)
	}
	if _, err := imagedclient.OpenIngest(ingestCtx, sock, &imagedclient.IngestOpen{Ref: "x"}); !errdefs.IsFailedPrecondition(err) {
		t.Fatalf("open in no namespace: %v, want FailedPrecondition", err)
	}
	in, err := imagedclient.OpenIngest(ingestCtx, sock, &imagedclient.IngestOpen{Namespace: "test", Ref: "r4"})
	if err != nil {
		t.Fatal(err)
	}
	write(t, in, 0, []byte("first try"))
	if st, err := in.Do(&imagedclient.IngestRequest{Op: imagedclient.IngestTruncate}); err != nil || st.Offset != 0 {
		t.Fatalf("truncate: %+v %v", st, err)
	}
	data := []byte("second")
	write(t, in, 0, data)
	if _, err := in.Do(&imagedclient.IngestRequest{Op: "shred"}); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("unknown operation: %v, want InvalidArgument", err)
	}
	in.Close()
	// The session ended on the bad operation; what it wrote stays.
	var st *imagedclient.IngestReply
	for {
		in, err = imagedclient.OpenIngest(ingestCtx, sock, &imagedclient.IngestOpen{Namespace: "test", Ref: "r4"})
		if !errdefs.IsUnavailable(err) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if st, err = in.Do(&imagedclient.IngestRequest{Op: imagedclient.IngestCommit, Expected: digest.FromBytes(data).String()}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Info(ingestCtx, st.Digest); err != nil {
		t.Fatalf("committed blob: %v", err)
	}
	// A blob the namespace has is not written again.
	_, err = imagedclient.OpenIngest(ingestCtx, sock, &imagedclient.IngestOpen{Namespace: "test", Ref: "r5", Expected: st.Digest})
	if !errdefs.IsAlreadyExists(err) {
		t.Fatalf("open of an existing blob: %v, want AlreadyExists", err)
	}
}

func TestIngestSessionEndsWhenTheIngestExpires(t *testing.T) {
	cs, sock := ingestServer(t)
	in, err := imagedclient.OpenIngest(ingestCtx, sock, &imagedclient.IngestOpen{Namespace: "test", Ref: "r6"})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	write(t, in, 0, []byte("then nothing for too long"))
	if _, err := in.Do(&imagedclient.IngestRequest{Op: imagedclient.IngestStat}); err != nil {
		t.Fatal(err)
	}
	if n := cs.ExpireIngests(time.Now().Add(24 * time.Hour)); n != 1 {
		t.Fatalf("%d ingests expired, want 1", n)
	}
	if _, err := in.Do(&imagedclient.IngestRequest{Op: imagedclient.IngestCommit}); !errdefs.IsAborted(err) {
		t.Fatalf("commit of an expired ingest: %v, want Aborted", err)
	}
}
