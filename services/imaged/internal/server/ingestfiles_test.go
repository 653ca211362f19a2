package server

import (
	"bytes"
	"context"
	"hash"
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

// A writer that hashes what it writes goes on from the state imaged opened
// the ingest with, including a resumed one's, and imaged commits under its
// hash without reading the data back.
func TestIngestSessionTakesTheWritersHash(t *testing.T) {
	cs, sock := ingestServer(t)
	data := bytes.Repeat([]byte("hashed by the gateway "), 50000)
	dgst := digest.FromBytes(data)
	open := &imagedclient.IngestOpen{Namespace: "test", Ref: "h1", Total: int64(len(data)), Expected: dgst.String()}
	in, err := imagedclient.OpenIngest(ingestCtx, sock, open)
	if err != nil {
		t.Fatal(err)
	}
	h := in.Hash()
	if h == nil {
		t.Fatal("imaged sent no hash state")
	}
	writeHashed(t, in, h, 0, data[:3000])
	in.Close()
	in = reopen(t, sock, open)
	defer in.Close()
	h = in.Hash()
	if in.Opened.Offset != 3000 || h == nil {
		t.Fatalf("resumed at %d with hash %v, want 3000 and one", in.Opened.Offset, h)
	}
	writeHashed(t, in, h, 3000, data[3000:10000])
	st, err := in.Do(&imagedclient.IngestRequest{Op: imagedclient.IngestStat})
	if err != nil || st.Offset != 10000 || st.Digest != digest.FromBytes(data[:10000]).String() {
		t.Fatalf("stat: %+v %v", st, err)
	}
	writeHashed(t, in, h, 10000, data[10000:])
	if st, err = in.Do(&imagedclient.IngestRequest{Op: imagedclient.IngestCommit}); err != nil || st.Digest != dgst.String() {
		t.Fatalf("commit: %+v %v", st, err)
	}
	if info, err := cs.Info(ingestCtx, dgst.String()); err != nil || info.Size != int64(len(data)) {
		t.Fatalf("committed blob: %+v %v", info, err)
	}
}

// A hash that does not cover exactly the data up to the new offset, or is
// no sha256 state, ends the session at the next answer.
func TestIngestSessionRefusesAHashOfOtherData(t *testing.T) {
	_, sock := ingestServer(t)
	for _, c := range []struct {
		name string
		hash func(h hash.Hash) hash.Hash
		ok   func(error) bool
	}{
		// One byte more than the data.
		{"other length", func(h hash.Hash) hash.Hash { h.Write([]byte("x")); return h }, errdefs.IsFailedPrecondition},
		{"no sha256 state", func(h hash.Hash) hash.Hash { return garbageState{h} }, errdefs.IsInvalidArgument},
	} {
		t.Run(c.name, func(t *testing.T) {
			in, err := imagedclient.OpenIngest(ingestCtx, sock, &imagedclient.IngestOpen{Namespace: "test", Ref: "h2-" + c.name})
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			data := []byte("some data")
			if _, err := in.File.WriteAt(data, 0); err != nil {
				t.Fatal(err)
			}
			h := in.Hash()
			h.Write(data)
			if err := in.WroteHashed(int64(len(data)), c.hash(h)); err != nil {
				t.Fatal(err)
			}
			if _, err := in.Do(&imagedclient.IngestRequest{Op: imagedclient.IngestCommit}); !c.ok(err) {
				t.Fatalf("commit under a bad hash: %v", err)
			}
		})
	}
}

type garbageState struct{ hash.Hash }

func (garbageState) MarshalBinary() ([]byte, error) { return []byte("not a hash state"), nil }

// writeHashed writes data into the session's file at off, hashes it into h
// and reports both.
func writeHashed(t *testing.T, in *imagedclient.Ingest, h hash.Hash, off int64, data []byte) {
	t.Helper()
	if _, err := in.File.WriteAt(data, off); err != nil {
		t.Fatal(err)
	}
	h.Write(data)
	if err := in.WroteHashed(int64(len(data)), h); err != nil {
		t.Fatal(err)
	}
}

// reopen opens open's ingest again once imaged released it.
func reopen(t *testing.T, sock string, open *imagedclient.IngestOpen) *imagedclient.Ingest {
	t.Helper()
	for {
		in, err := imagedclient.OpenIngest(ingestCtx, sock, open)
		if errdefs.IsUnavailable(err) {
			time.Sleep(time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
}
