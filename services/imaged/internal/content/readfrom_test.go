package content

import (
	"bytes"
	"io"
	"math/rand"
	"testing"
	"testing/iotest"

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
