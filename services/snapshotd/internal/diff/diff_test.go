package diff

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"berth.dev/services/snapshotd/internal/apply"
)

// Applying the diff of two trees onto the lower one gives the upper one.
func TestDiffThenApplyRoundTrips(t *testing.T) {
	lower, upper := t.TempDir(), t.TempDir()
	write := func(root, name, body string) {
		os.MkdirAll(filepath.Join(root, filepath.Dir(name)), 0o755)
		os.WriteFile(filepath.Join(root, name), []byte(body), 0o644)
	}
	for _, root := range []string{lower, upper} {
		write(root, "same", "s")
		write(root, "dir/changed", "old")
		write(root, "gone/inner", "x")
		write(root, "dropped", "d")
	}
	os.RemoveAll(filepath.Join(upper, "gone"))
	os.Remove(filepath.Join(upper, "dropped"))
	write(upper, "dir/changed", "new!")
	write(upper, "added/file", "a")
	os.Symlink("added/file", filepath.Join(upper, "link"))

	var layer bytes.Buffer
	if err := Write(&layer, lower, upper); err != nil {
		t.Fatal(err)
	}
	if _, err := apply.Apply(lower, bytes.NewReader(layer.Bytes()), apply.Options{}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"same": "s", "dir/changed": "new!", "added/file": "a", "link": "a"} {
		if b, err := os.ReadFile(filepath.Join(lower, name)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", name, b, err, want)
		}
	}
	for _, name := range []string{"gone", "dropped"} {
		if _, err := os.Lstat(filepath.Join(lower, name)); !os.IsNotExist(err) {
			t.Errorf("%s still there", name)
		}
	}
}
