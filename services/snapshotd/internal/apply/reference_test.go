package apply

import (
	"archive/tar"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
)

// tree describes a directory: every path with its type, mode, size, link
// target and content.
func tree(t *testing.T, root string) []string {
	var out []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		fi, _ := os.Lstat(p)
		rel, _ := filepath.Rel(root, p)
		desc := fmt.Sprintf("%s %v", rel, fi.Mode())
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			desc += " -> " + target
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			desc += " " + string(b)
		}
		out = append(out, desc)
		return nil
	})
	sort.Strings(out)
	return out
}

// TestMatchesReferenceExtraction applies two layers and compares the result
// with GNU tar extracting the same layers (where the second layer has no
// whiteouts, which tar does not know).
func TestMatchesReferenceExtraction(t *testing.T) {
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skip("tar not installed")
	}
	layers := [][]byte{
		layer(t, dir("usr/"), dir("usr/bin/"), file("usr/bin/a", "A"), symlink("bin", "usr/bin"),
			entry{name: "usr/bin/suid", body: "s", typ: tar.TypeReg, mode: 0o4755}, file("etc/conf", "v1")),
		layer(t, file("etc/conf", "v2"), entry{name: "usr/bin/b", link: "usr/bin/a", typ: tar.TypeLink}, dir("var/empty/")),
	}
	ours, ref := t.TempDir(), t.TempDir()
	for i, l := range layers {
		mustApply(t, ours, l)
		path := filepath.Join(t.TempDir(), fmt.Sprint(i, ".tar"))
		os.WriteFile(path, l, 0o644)
		if out, err := exec.Command("tar", "-xpf", path, "-C", ref).CombinedOutput(); err != nil {
			t.Fatalf("reference tar: %v %s", err, out)
		}
	}
	a, b := tree(t, ours), tree(t, ref)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("apply differs from tar:\nours: %q\ntar:  %q", a, b)
	}
	if len(a) < 8 {
		t.Fatalf("tree too small to compare: %q", a)
	}
}
