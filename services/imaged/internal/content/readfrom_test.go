package content

import (
	"bytes"
	"io"
	"math/rand"
	"testing"
	"testing/iotest"
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
)

// A download read through ReadFrom, from the start (direct writes where
// the filesystem takes them) or resumed at an unaligned offset (through the
// page cache), is hashed and committed as written with Write.
func TestReadFromHashesWhatItWrites(t *testing.T) {
	s := newStore(t)
	data := make([]byte, 3<<20+123)
	rand.New(rand.NewSource(1)).Read(data)
	dgst := digest.FromBytes(data)
	for _, resumeAt := range []int{0, 1001} {
		ref := "readfrom-" + string(rune('a'+resumeAt%26))
		w, err := s.Writer(ctx, ref, int64(len(data)), dgst.String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data[:resumeAt]); err != nil {
			t.Fatal(err)
		}
		// Reads of odd sizes, as a download's are.
		n, err := w.ReadFrom(iotest.HalfReader(bytes.NewReader(data[resumeAt:])))
		if err != nil || n != int64(len(data)-resumeAt) {
			t.Fatalf("ReadFrom: %d %v", n, err)
		}
		if st := w.Status(); st.Offset != int64(len(data)) {
			t.Fatalf("offset %d after ReadFrom, want %d", st.Offset, len(data))
		}
		if err := w.Commit(ctx, int64(len(data)), dgst.String(), nil); err != nil {
			t.Fatalf("commit after resuming at %d: %v", resumeAt, err)
		}
		f, _, err := s.Open(ctx, dgst.String())
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(f)
		f.Close()
		if !bytes.Equal(got, data) {
			t.Fatalf("blob differs from what was read (resumed at %d)", resumeAt)
		}
		if err := s.Delete(ctx, dgst.String()); err != nil {
			t.Fatal(err)
		}
	}
}

// stalledReader blocks its second Read until released, then fills all it
// was given: a download that stalls past the ingest timeout and resumes.
type stalledReader struct {
	reads           int
	waiting, resume chan struct{}
}

func (r *stalledReader) Read(p []byte) (int, error) {
	r.reads++
	if r.reads == 2 {
		close(r.waiting)
		<-r.resume
	}
	for i := range p {
		p[i] = byte(i)
	}
	return len(p), nil
}

// An ingest that expires while its ReadFrom waits on a download ends that
// ReadFrom with the expiry once the read returns: the expiry does not take
// the chunk the read goes into from under it.
func TestReadFromEndsWhenTheIngestExpiresDuringARead(t *testing.T) {
	s := newStore(t)
	s.IngestTimeout = time.Minute
	w, err := s.Writer(ctx, "readfrom-expires", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	r := &stalledReader{waiting: make(chan struct{}), resume: make(chan struct{})}
	type result struct {
		err      error
		panicked any
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{panicked: p}
			}
		}()
		_, err := w.ReadFrom(r)
		done <- result{err: err}
	}()
	<-r.waiting
	if n := s.ExpireIngests(time.Now().Add(2 * time.Minute)); n != 1 {
		t.Fatalf("%d ingests expired, want 1", n)
	}
	close(r.resume)
	res := <-done
	if res.panicked != nil {
		t.Fatalf("ReadFrom panicked: %v", res.panicked)
	}
	if !errdefs.IsAborted(res.err) {
		t.Fatalf("ReadFrom: %v, want the expiry (aborted)", res.err)
	}
}
