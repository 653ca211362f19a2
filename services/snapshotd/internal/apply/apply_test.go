package apply

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
)

type entry struct {
	name, link, body string
	typ              byte
	mode             int64
}

func layer(t testing.TB, entries ...entry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		mode := e.mode
		if mode == 0 {
			mode = 0o644
			if e.typ == tar.TypeDir {
				mode = 0o755
			}
		}
		hdr := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: mode, Size: int64(len(e.body)), ModTime: time.Unix(1600000000, 0)}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	return buf.Bytes()
}

func file(name, body string) entry { return entry{name: name, body: body, typ: tar.TypeReg} }
func dir(name string) entry        { return entry{name: name, typ: tar.TypeDir} }
func symlink(name, target string) entry {
	return entry{name: name, link: target, typ: tar.TypeSymlink, mode: 0o777}
}

func mustApply(t *testing.T, root string, data []byte) *Result {
	t.Helper()
	res, err := Apply(root, bytes.NewReader(data), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func read(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestApplyFilesLinksAndDiffID(t *testing.T) {
	root := t.TempDir()
	data := layer(t, dir("etc/"), file("etc/hostname", "box\n"), symlink("etc/alias", "hostname"),
		entry{name: "etc/hard", link: "etc/hostname", typ: tar.TypeLink}, entry{name: "bin/tool", body: "x", typ: tar.TypeReg, mode: 0o4755})
	res := mustApply(t, root, data)
	if want := digest.FromBytes(data); res.DiffID != want {
		t.Fatalf("diffID %s, want %s", res.DiffID, want)
	}
	if read(t, filepath.Join(root, "etc/alias")) != "box\n" || read(t, filepath.Join(root, "etc/hard")) != "box\n" {
		t.Fatal("links do not resolve to the file")
	}
	a, _ := os.Stat(filepath.Join(root, "etc/hostname"))
	b, _ := os.Stat(filepath.Join(root, "etc/hard"))
	if !os.SameFile(a, b) {
		t.Fatal("hardlink is a copy")
	}
	if fi, _ := os.Stat(filepath.Join(root, "bin/tool")); fi.Mode()&os.ModeSetuid == 0 {
		t.Fatalf("setuid bit lost: %v", fi.Mode())
	}
	if fi, _ := os.Stat(filepath.Join(root, "etc")); !fi.ModTime().Equal(time.Unix(1600000000, 0)) {
		t.Fatalf("directory mtime %v", fi.ModTime())
	}
}

func TestApplyCompressed(t *testing.T) {
	data := layer(t, file("a", "compressed"))
	var gz, zs bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(data)
	gw.Close()
	zw, _ := zstd.NewWriter(&zs)
	zw.Write(data)
	zw.Close()
	for name, blob := range map[string][]byte{"gzip": gz.Bytes(), "zstd": zs.Bytes(), "plain": data} {
		root := t.TempDir()
		res, err := Apply(root, bytes.NewReader(blob), Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if res.DiffID != digest.FromBytes(data) || read(t, filepath.Join(root, "a")) != "compressed" {
			t.Fatalf("%s: wrong result", name)
		}
	}
}

func TestWhiteouts(t *testing.T) {
	root := t.TempDir()
	mustApply(t, root, layer(t, dir("d/"), file("d/keep", "1"), file("d/gone", "2"), dir("o/"), file("o/old", "3")))
	mustApply(t, root, layer(t, file("d/.wh.gone", ""), dir("o/"), file("o/.wh..wh..opq", ""), file("o/new", "4")))
	if _, err := os.Stat(filepath.Join(root, "d/gone")); !os.IsNotExist(err) {
		t.Fatal("whiteout did not remove d/gone")
	}
	if _, err := os.Stat(filepath.Join(root, "d/keep")); err != nil {
		t.Fatal("whiteout removed a sibling")
	}
	if _, err := os.Stat(filepath.Join(root, "o/old")); !os.IsNotExist(err) {
		t.Fatal("opaque directory kept lower content")
	}
	if read(t, filepath.Join(root, "o/new")) != "4" {
		t.Fatal("opaque directory lost this layer's content")
	}
}

// Hostile layers: every write must stay inside the root.
func TestHostileLayersStayInRoot(t *testing.T) {
	for name, entries := range map[string][]entry{
		"dotdot":           {file("../../escape", "x")},
		"absolute":         {file("/escape", "x")},
		"symlink dir":      {symlink("link", "../../.."), file("link/escape", "x")},
		"absolute symlink": {symlink("link", "/"), file("link/escape", "x")},
		"symlink chain":    {symlink("a", "b"), symlink("b", "../"), file("a/escape", "x")},
		"hardlink out":     {entry{name: "hl", link: "../../etc/passwd", typ: tar.TypeLink}},
		"whiteout out":     {file("../.wh.escape", "")},
	} {
		t.Run(name, func(t *testing.T) {
			outer := t.TempDir()
			root := filepath.Join(outer, "a", "b", "root")
			os.MkdirAll(root, 0o755)
			sentinel := filepath.Join(outer, "a", "escape")
			os.WriteFile(sentinel, []byte("keep"), 0o644)
			Apply(root, bytes.NewReader(layer(t, entries...)), Options{})
			if b, err := os.ReadFile(sentinel); err != nil || string(b) != "keep" {
				t.Fatalf("write outside the root: %v %q", err, b)
			}
			filepath.Walk(outer, func(p string, fi os.FileInfo, err error) error {
				if err == nil && !strings.HasPrefix(p, root) && !strings.HasPrefix(root, p) && p != sentinel {
					t.Errorf("created outside the root: %s", p)
				}
				return nil
			})
		})
	}
}

func TestLowerLayerSymlinkIsResolvedInRoot(t *testing.T) {
	root := t.TempDir()
	mustApply(t, root, layer(t, symlink("etc", "/host-etc")))
	mustApply(t, root, layer(t, file("etc/passwd", "inside")))
	if read(t, filepath.Join(root, "host-etc/passwd")) != "inside" {
		t.Fatal("symlink from a lower layer not resolved inside the root")
	}
}

func TestDevicesRefusedByDefault(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	data := layer(t, entry{name: "dev/mem", typ: tar.TypeChar, mode: 0o600})
	_, err := Apply(t.TempDir(), bytes.NewReader(data), Options{})
	if !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("device node: %v", err)
	}
}

func TestDecompressionBombIsRefused(t *testing.T) {
	var gz bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(layer(t, file("big", strings.Repeat("0", 4<<20))))
	gw.Close()
	_, err := Apply(t.TempDir(), bytes.NewReader(gz.Bytes()), Options{MaxBytes: 1 << 20})
	if !errors.Is(err, errdefs.ErrResourceExhausted) {
		t.Fatalf("bomb: %v", err)
	}
}

func TestTruncatedLayerIsInvalid(t *testing.T) {
	data := layer(t, file("a", strings.Repeat("x", 10000)))
	_, err := Apply(t.TempDir(), bytes.NewReader(data[:3000]), Options{})
	if !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("truncated: %v", err)
	}
}

func FuzzApply(f *testing.F) {
	f.Add(layer(f, dir("a/"), file("a/b", "x"), symlink("c", "../..")))
	f.Add(layer(f, symlink("l", "/"), file("l/x", "y"), file(".wh.l", "")))
	f.Fuzz(func(t *testing.T, data []byte) {
		outer := t.TempDir()
		root := filepath.Join(outer, "root")
		os.Mkdir(root, 0o755)
		Apply(root, bytes.NewReader(data), Options{MaxBytes: 1 << 20})
		entries, _ := os.ReadDir(outer)
		if len(entries) != 1 {
			t.Fatalf("apply wrote next to the root: %v", entries)
		}
	})
}

// TestApplyWithWriteBack unpacks files across several write-out chunks,
// and an empty one, with write-out started as they are written: every byte
// lands where the layer put it.
func TestApplyWithWriteBack(t *testing.T) {
	big := make([]byte, 2*writeBackChunk+12345)
	for i := range big {
		big[i] = byte(i*7 + i/4096)
	}
	data := layer(t, file("big", string(big)), file("small", "s"), file("empty", ""))
	root := t.TempDir()
	res, err := Apply(root, bytes.NewReader(data), Options{WriteBack: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.DiffID != digest.FromBytes(data) {
		t.Fatalf("diff id %s, want %s", res.DiffID, digest.FromBytes(data))
	}
	if got := read(t, filepath.Join(root, "big")); got != string(big) {
		t.Fatalf("big file differs: %d bytes, want %d", len(got), len(big))
	}
	if read(t, filepath.Join(root, "small")) != "s" || read(t, filepath.Join(root, "empty")) != "" {
		t.Fatal("small files differ")
	}
}
