//go:build e2e

package e2e

import (
	"archive/tar"
	"compress/gzip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"berth.dev/pkg/mount"
)

func TestCtrSnapshots(t *testing.T) {
	st := runningStack(t)
	out := st.MustCtr(t, "snapshots", "ls")
	fields := strings.Fields(strings.Split(strings.TrimSpace(out), "\n")[1])
	layer := fields[0]
	if !strings.HasPrefix(layer, "sha256:") || !lineHas(out, layer, "Committed") {
		t.Fatalf("imported image's layer not a committed snapshot:\n%s", out)
	}
	if out := st.MustCtr(t, "snapshots", "info", layer); !strings.Contains(out, `"Kind": "Committed"`) {
		t.Fatalf("snapshots info: %q", out)
	}
	st.MustCtr(t, "snapshots", "prepare", "work", layer)
	target := t.TempDir()
	out = st.MustCtr(t, "snapshots", "mounts", target, "work")
	if !strings.Contains(out, "mount -t overlay") || !strings.Contains(out, "upperdir=") {
		t.Fatalf("mounts of an active overlay snapshot:\n%s", out)
	}
	// Change the snapshot through its mount, then ask for the diff.
	if b, err := exec.Command("sh", "-c", out).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v %s", err, b)
	}
	os.WriteFile(filepath.Join(target, "added-by-test"), []byte("hi"), 0o644)
	os.Remove(filepath.Join(target, "etc/passwd"))
	mount.UnmountAll(target)
	// ctr prints the layer the diff service wrote to the content store.
	zr, err := gzip.NewReader(strings.NewReader(st.MustCtr(t, "snapshots", "diff", "work")))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, hdr.Name)
	}
	if got := strings.Join(names, " "); !strings.Contains(got, "added-by-test") || !strings.Contains(got, "etc/.wh.passwd") {
		t.Fatalf("diff layer holds %v", names)
	}
	st.MustCtr(t, "snapshots", "view", "look", layer)
	if out := st.MustCtr(t, "snapshots", "mounts", "/mnt", "look"); !strings.Contains(out, "ro") {
		t.Fatalf("mounts of a view:\n%s", out)
	}
	st.MustCtr(t, "snapshots", "commit", "work-done", "work")
	if out := st.MustCtr(t, "snapshots", "tree"); !strings.Contains(out, "work-done") {
		t.Fatalf("tree lacks the committed child:\n%s", out)
	}
	if out := st.MustCtr(t, "snapshots", "usage", layer); !lineHas(out, layer) {
		t.Fatalf("usage:\n%s", out)
	}
	if _, err := st.Ctr(t, "snapshots", "rm", layer); err == nil || !strings.Contains(err.Error(), "failed precondition") {
		t.Fatalf("removing a parent: %v", err)
	}
	st.MustCtr(t, "snapshots", "rm", "look", "work-done")
	if _, err := st.Ctr(t, "snapshots", "info", "work-done"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("info of a removed snapshot: %v", err)
	}
	if _, err := st.Ctr(t, "snapshots", "--snapshotter", "nosuch", "ls"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("unknown snapshotter: %v", err)
	}
	// The native snapshotter serves the same calls.
	st.MustCtr(t, "snapshots", "--snapshotter", "native", "prepare", "n1", "")
	if out := st.MustCtr(t, "snapshots", "--snapshotter", "native", "mounts", "/mnt", "n1"); !strings.Contains(out, "bind") {
		t.Fatalf("native mounts:\n%s", out)
	}
	st.MustCtr(t, "snapshots", "--snapshotter", "native", "rm", "n1")
}
