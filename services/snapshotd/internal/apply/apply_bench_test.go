package apply

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"os"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// randomLayer is a gzip layer of n bytes of random data in 4 MiB files, the
// shape of the pull benchmark's image.
func randomLayer(b *testing.B, n int) []byte {
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	chunk := make([]byte, 4<<20)
	for i := 0; n > 0; i++ {
		size := min(len(chunk), n)
		rand.Read(chunk[:size])
		tw.WriteHeader(&tar.Header{Name: "data/f" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Mode: 0o644, Size: int64(size), Typeflag: tar.TypeReg})
		tw.Write(chunk[:size])
		n -= size
	}
	tw.Close()
	var gz bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(raw.Bytes())
	gw.Close()
	return gz.Bytes()
}

// BenchmarkApply reports uncompressed MB/s applying a 60 MiB layer and
// syncing the filesystem once, as snapshotd does for each layer.
func BenchmarkApply(b *testing.B) {
	benchApply(b, true)
}

// BenchmarkApplyNoSync is the same without the final syncfs.
func BenchmarkApplyNoSync(b *testing.B) {
	benchApply(b, false)
}

func benchApply(b *testing.B, sync bool) {
	data := randomLayer(b, 60<<20)
	b.SetBytes(60 << 20)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		root, err := os.MkdirTemp("", "apply-bench-")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Apply(root, bytes.NewReader(data), Options{}); err != nil {
			b.Fatal(err)
		}
		if sync {
			if err := Sync(root); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		os.RemoveAll(root)
		b.StartTimer()
	}
}
