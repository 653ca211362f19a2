//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	imagesv1 "berth.dev/proto/berth/images/v1"
	"berth.dev/test/e2e/harness"
)

func tarLayer(t *testing.T, entries map[string]string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	// Directories before their contents.
	for _, n := range sortedNames(names) {
		if strings.HasSuffix(n, "/") {
			tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeDir, Mode: 0o755})
			continue
		}
		tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(entries[n]))})
		tw.Write([]byte(entries[n]))
	}
	tw.Close()
	return buf.Bytes()
}

func sortedNames(n []string) []string {
	for i := range n {
		for j := i + 1; j < len(n); j++ {
			if n[j] < n[i] {
				n[i], n[j] = n[j], n[i]
			}
		}
	}
	return n
}

// TestLayersWithWhiteoutsUnpackInParallel pulls an image whose upper layer
// deletes a file and makes a directory opaque; Berth's pull applies the
// layers in parallel, so the deletions must survive as overlay whiteouts.
func TestLayersWithWhiteoutsUnpackInParallel(t *testing.T) {
	base := harness.BusyboxImage(t)
	lower := tarLayer(t, map[string]string{"d/": "", "d/a": "a", "d/b": "b", "o/": "", "o/old": "old"})
	upper := tarLayer(t, map[string]string{"d/": "", "d/.wh.a": "", "o/": "", "o/.wh..wh..opq": "", "o/new": "new"})
	img := base
	for _, data := range [][]byte{lower, upper} {
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	reg := harness.Registry(t)
	ref := reg + "/wh/image:1"
	harness.Push(t, ref, img)
	certs := t.TempDir()
	os.MkdirAll(filepath.Join(certs, reg), 0o755)
	os.WriteFile(filepath.Join(certs, reg, "hosts.toml"), []byte("server = \"http://"+reg+"\"\n"), 0o644)
	st := harness.Start(t, harness.WithEnv("BERTH_REGISTRY_CONFIG_PATH="+certs))
	if _, err := serverPull(t, st, &imagesv1.PullRequest{Ref: ref}); err != nil {
		t.Fatal(err)
	}
	out := st.MustCtr(t, "run", "--rm", ref, "wh", "sh", "-c", "echo d: $(ls /d); echo o: $(ls /o)")
	if !strings.Contains(out, "d: b\n") || !strings.Contains(out, "o: new\n") {
		t.Fatalf("whiteouts not honoured:\n%s", out)
	}
	// ctr unpacks the same image its own way; both must agree.
	st.MustCtr(t, "-n", "viactr", "images", "pull", "--plain-http", ref)
	if out2 := st.MustCtr(t, "-n", "viactr", "run", "--rm", ref, "wh2", "sh", "-c", "echo d: $(ls /d); echo o: $(ls /o)"); out2 != out {
		t.Fatalf("ctr's unpack gives %q, Berth's %q", out2, out)
	}
}
