//go:build integration

package snapshot

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	api "github.com/containerd/containerd/api/services/snapshots/v1"
	"github.com/containerd/errdefs"

	"berth.dev/pkg/mount"
	"berth.dev/pkg/namespace"
)

// The same suite runs against every snapshotter.
func TestConformance(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	for _, name := range []string{"overlayfs", "native"} {
		t.Run(name, func(t *testing.T) { conformance(t, name) })
	}
}

// mountAt mounts a snapshot's mounts and unmounts them when the test ends.
func mountAt(t *testing.T, m *Manager, ctx context.Context, sn, key string) string {
	ms, err := m.Mounts(ctx, sn, key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := mount.All(ms, dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mount.UnmountAll(dir) })
	return dir
}

func conformance(t *testing.T, sn string) {
	m := newManager(t)
	ctx := namespace.WithNamespace(context.Background(), "conf")
	if _, err := m.Prepare(ctx, sn, "base-active", "", nil, api.Kind_ACTIVE); err != nil {
		t.Fatal(err)
	}
	dir := mountAt(t, m, ctx, sn, "base-active")
	os.WriteFile(filepath.Join(dir, "base"), []byte("1"), 0o644)
	mount.UnmountAll(dir)
	if err := m.Commit(ctx, sn, "base", "base-active", "", map[string]string{"l": "v"}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Stat(ctx, sn, "base-active"); !errdefs.IsNotFound(err) {
		t.Fatalf("active key still there after commit: %v", err)
	}
	info, err := m.Stat(ctx, sn, "base")
	if err != nil || info.Kind != api.Kind_COMMITTED || info.Labels["l"] != "v" {
		t.Fatalf("stat committed: %+v %v", info, err)
	}
	if _, err := m.Prepare(ctx, sn, "child", "base", nil, api.Kind_ACTIVE); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Prepare(ctx, sn, "child", "base", nil, api.Kind_ACTIVE); !errdefs.IsAlreadyExists(err) {
		t.Fatalf("second prepare of a key: %v", err)
	}
	dir = mountAt(t, m, ctx, sn, "child")
	if b, _ := os.ReadFile(filepath.Join(dir, "base")); string(b) != "1" {
		t.Fatal("child does not see its parent's file")
	}
	os.WriteFile(filepath.Join(dir, "child"), []byte("2"), 0o644)
	if _, err := m.Prepare(ctx, sn, "view", "base", nil, api.Kind_VIEW); err != nil {
		t.Fatal(err)
	}
	vdir := mountAt(t, m, ctx, sn, "view")
	if _, err := os.Stat(filepath.Join(vdir, "child")); !os.IsNotExist(err) {
		t.Fatal("view sees a sibling's write")
	}
	if err := os.WriteFile(filepath.Join(vdir, "x"), nil, 0o644); err == nil {
		t.Fatal("view is writable")
	}
	if err := m.Remove(ctx, sn, "base"); !errdefs.IsFailedPrecondition(err) {
		t.Fatalf("remove of a parent: %v", err)
	}
	if _, err := m.Mounts(ctx, sn, "base"); !errdefs.IsFailedPrecondition(err) {
		t.Fatalf("mounts of a committed snapshot: %v", err)
	}
	list, err := m.List(ctx, sn, "kind==committed")
	if err != nil || len(list) != 1 || list[0].Name != "base" {
		t.Fatalf("list committed: %v %v", list, err)
	}
	if size, _, err := m.Usage(ctx, sn, "child"); err != nil || size == 0 {
		t.Fatalf("usage: %d %v", size, err)
	}
	other := namespace.WithNamespace(context.Background(), "other")
	if _, err := m.Stat(other, sn, "base"); !errdefs.IsNotFound(err) {
		t.Fatalf("namespace isolation: %v", err)
	}
	mount.UnmountAll(dir)
	mount.UnmountAll(vdir)
	for _, k := range []string{"child", "view", "base"} {
		if err := m.Remove(ctx, sn, k); err != nil {
			t.Fatalf("remove %s: %v", k, err)
		}
	}
	entries, _ := os.ReadDir(m.Root(sn))
	if len(entries) != 0 {
		t.Fatalf("directories left after removing everything: %v", entries)
	}
}

func TestCleanupRemovesUnknownDirectories(t *testing.T) {
	m := newManager(t)
	stray := filepath.Join(m.Root("native"), "999")
	os.MkdirAll(filepath.Join(stray, "fs"), 0o755)
	if err := m.CleanupAll(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Fatal("cleanup left a directory metadata does not know")
	}
}
