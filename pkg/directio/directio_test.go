package directio

import (
	"bytes"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
)

func random(n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(int64(n))).Read(b)
	return b
}

// writeInPieces writes data through a Writer at off in uneven pieces.
func writeInPieces(t *testing.T, w *Writer, data []byte) {
	t.Helper()
	for i, step := 0, 1; i < len(data); step = step*7 + 1 {
		end := min(i+step%(3*ChunkSize), len(data))
		if n, err := w.Write(data[i:end]); err != nil || n != end-i {
			t.Fatalf("write %d bytes: wrote %d: %v", end-i, n, err)
		}
		i = end
	}
}

func TestWriterWritesEveryByte(t *testing.T) {
	for _, size := range []int{0, 1, Align, ChunkSize, ChunkSize + 1, 3*ChunkSize + 12345} {
		path := filepath.Join(t.TempDir(), "f")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		data := random(size)
		w := NewWriter(f, 0)
		writeInPieces(t, w, data)
		direct := w.Direct()
		if w.Offset() != int64(size) {
			t.Fatalf("offset %d after %d bytes", w.Offset(), size)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(path)
		if !bytes.Equal(got, data) {
			t.Fatalf("size %d (direct %v): file differs from what was written (%d bytes)", size, direct, len(got))
		}
		// Closed, the file is out of direct mode: unaligned writes work.
		if _, err := f.WriteAt([]byte("x"), int64(size)); err != nil {
			t.Fatalf("write after close: %v", err)
		}
	}
}

func TestWriterFromUnalignedOffsetGoesThroughPageCache(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	head := random(100)
	os.WriteFile(path, head, 0o600)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := NewWriter(f, int64(len(head)))
	data := random(2*ChunkSize + 7)
	writeInPieces(t, w, data)
	if w.Direct() {
		t.Fatal("direct from an unaligned offset")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, append(head, data...)) {
		t.Fatal("file differs from what was written")
	}
}

func TestDiscardRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := NewWriter(f, 0)
	writeInPieces(t, w, random(ChunkSize+99))
	// Discarded first: no write of the writer's lands after the truncation.
	w.Discard(0)
	if err := f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	data := random(5000)
	writeInPieces(t, w, data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, data) {
		t.Fatalf("got %d bytes, want the %d written after the discard", len(got), len(data))
	}
}

func TestReadFromWritesEveryByte(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data := random(2*ChunkSize + 4097)
	w := NewWriter(f, 0)
	// A reader returning small pieces, as a decompressor does.
	n, err := w.ReadFrom(io.LimitReader(iotest.HalfReader(bytes.NewReader(data)), int64(len(data))))
	if err != nil || n != int64(len(data)) {
		t.Fatalf("read %d of %d: %v", n, len(data), err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, data) {
		t.Fatal("file differs from what was read")
	}
}
