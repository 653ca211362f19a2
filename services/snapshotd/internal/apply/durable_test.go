package apply

import (
	"archive/tar"
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// watchSyncs records the paths an apply fsyncs, in order, and fsyncs them.
func watchSyncs(t *testing.T) *[]string {
	var synced []string
	prev := syncPath
	syncPath = func(p string) error {
		synced = append(synced, p)
		return fsyncPath(p)
	}
	t.Cleanup(func() { syncPath = prev })
	return &synced
}

// TestSyncFewFsyncsWhatTheLayerWrote: a small layer of files and
// directories is fsynced path by path, each file and every directory that
// gained a name, deeper paths before the directories holding them.
func TestSyncFewFsyncsWhatTheLayerWrote(t *testing.T) {
	synced := watchSyncs(t)
	root := t.TempDir()
	data := layer(t, dir("etc/"), file("etc/conf", "c"), file("bin/tool", "t"), file("top", "x"))
	res, err := Apply(root, bytes.NewReader(data), Options{SyncFew: 64})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Synced {
		t.Fatal("a layer of three files and two directories was not synced")
	}
	want := []string{root, filepath.Join(root, "etc"), filepath.Join(root, "etc/conf"), filepath.Join(root, "bin"),
		filepath.Join(root, "bin/tool"), filepath.Join(root, "top")}
	got := slices.Clone(*synced)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("fsynced %v, want %v", got, want)
	}
	for i, p := range *synced {
		for _, later := range (*synced)[i+1:] {
			if strings.HasPrefix(later, p+"/") {
				t.Fatalf("%s fsynced before %s, which it holds: %v", p, later, *synced)
			}
		}
	}
	if read(t, filepath.Join(root, "etc/conf")) != "c" {
		t.Fatal("file content differs")
	}
}

// TestSyncFewLeavesOtherLayersToTheCaller: what fsync cannot reach (a
// symlink, a fifo), a layer past the limit, or no SyncFew at
// all leave the sync to the caller, and nothing is fsynced.
func TestSyncFewLeavesOtherLayersToTheCaller(t *testing.T) {
	many := []entry{}
	for i := 0; i < 10; i++ {
		many = append(many, file(strings.Repeat("f", i+1), "x"))
	}
	for _, tc := range []struct {
		name string
		data []byte
		opts Options
	}{
		{"symlink", layer(t, file("a", "x"), symlink("l", "a")), Options{SyncFew: 64}},
		{"fifo", layer(t, file("a", "x"), entry{name: "p", typ: tar.TypeFifo}), Options{SyncFew: 64}},
		{"past the limit", layer(t, many...), Options{SyncFew: 8}},
		{"not asked", layer(t, file("a", "x")), Options{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synced := watchSyncs(t)
			res, err := Apply(t.TempDir(), bytes.NewReader(tc.data), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.Synced || len(*synced) > 0 {
				t.Fatalf("synced %v (%v), want it left to the caller", res.Synced, *synced)
			}
		})
	}
}

// TestSyncFewCoversRemovalsAndHardlinks: a deletion (without overlay
// whiteouts) and a hardlink change directories and a link count that
// fsync reaches: the layer is synced, the directories with it.
func TestSyncFewCoversRemovalsAndHardlinks(t *testing.T) {
	root := t.TempDir()
	mustApply(t, root, layer(t, file("d/old", "o")))
	synced := watchSyncs(t)
	data := layer(t, file("d/.wh.old", ""), file("a", "x"), entry{name: "b", link: "a", typ: tar.TypeLink})
	res, err := Apply(root, bytes.NewReader(data), Options{SyncFew: 64})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Synced {
		t.Fatal("not synced")
	}
	for _, p := range []string{filepath.Join(root, "d"), filepath.Join(root, "b"), root} {
		if !slices.Contains(*synced, p) {
			t.Fatalf("%s not fsynced: %v", p, *synced)
		}
	}
}

// TestSyncAboveNamesTheDirectory fsyncs the directories above, not dir.
func TestSyncAboveNamesTheDirectory(t *testing.T) {
	synced := watchSyncs(t)
	base := t.TempDir()
	dir := filepath.Join(base, "a", "b", "fs")
	if err := SyncAbove(dir, 2); err != nil {
		t.Fatal(err)
	}
	// a/b/fs does not exist: missing paths are passed over, and only a/b
	// and a are asked for.
	want := []string{filepath.Join(base, "a", "b"), filepath.Join(base, "a")}
	if !slices.Equal(*synced, want) {
		t.Fatalf("fsynced %v, want %v", *synced, want)
	}
}
