package snapshot

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	api "github.com/containerd/containerd/api/services/snapshots/v1"
	"github.com/containerd/errdefs"

	"berth.dev/pkg/namespace"
)

// A snapshot a layer is being applied into is not removed under the apply,
// and an apply does not start into a snapshot that is gone.
func TestRemoveWaitsOutApplies(t *testing.T) {
	m := newManager(t)
	ctx := namespace.WithNamespace(context.Background(), "writers")
	mounts, err := m.Prepare(ctx, "native", "extract", "", nil, api.Kind_ACTIVE)
	if err != nil {
		t.Fatal(err)
	}
	done, err := m.Writing(mounts)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(ctx, "native", "extract"); !errdefs.IsFailedPrecondition(err) {
		t.Fatalf("remove while a layer is applied into it: %v, want FailedPrecondition", err)
	}
	if _, err := m.Stat(ctx, "native", "extract"); err != nil {
		t.Fatalf("the refused removal took the record: %v", err)
	}
	// What the apply writes stays the snapshot's.
	if err := os.WriteFile(filepath.Join(mounts[0].Source, "file"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	done()
	done() // a second call changes nothing
	if err := m.Remove(ctx, "native", "extract"); err != nil {
		t.Fatalf("remove once the apply ended: %v", err)
	}
	if _, err := m.Writing(mounts); !errdefs.IsNotFound(err) {
		t.Fatalf("apply into a removed snapshot: %v, want NotFound", err)
	}
	if entries, _ := os.ReadDir(m.Root("native")); len(entries) != 0 {
		t.Fatalf("directories left: %v", entries)
	}
}

// A conditional removal takes only the snapshot created at the time given.
func TestRemoveIfCreatedSparesANewcomer(t *testing.T) {
	m := newManager(t)
	ctx := namespace.WithNamespace(context.Background(), "ifcreated")
	if _, err := m.Prepare(ctx, "native", "k", "", nil, api.Kind_ACTIVE); err != nil {
		t.Fatal(err)
	}
	old, err := m.Stat(ctx, "native", "k")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(ctx, "native", "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Prepare(ctx, "native", "k", "", nil, api.Kind_ACTIVE); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(ctx, "native", "k", IfCreated(old.CreatedAt.AsTime())); !errdefs.IsFailedPrecondition(err) {
		t.Fatalf("removal of the old k took the new one: %v", err)
	}
	cur, err := m.Stat(ctx, "native", "k")
	if err != nil {
		t.Fatalf("the new k is gone: %v", err)
	}
	if err := m.Remove(ctx, "native", "k", IfCreated(cur.CreatedAt.AsTime())); err != nil {
		t.Fatalf("removal of the listed k: %v", err)
	}
}

// At start, directories without a record (a crash between creating a
// directory and recording it, or between removing a record and its
// directory) are removed, and recorded ones kept.
func TestCleanupKeepsRecordedDirectories(t *testing.T) {
	m := newManager(t)
	ctx := namespace.WithNamespace(context.Background(), "orphans")
	mounts, err := m.Prepare(ctx, "native", "kept", "", nil, api.Kind_ACTIVE)
	if err != nil {
		t.Fatal(err)
	}
	stray := filepath.Join(m.Root("native"), "999")
	if err := os.MkdirAll(filepath.Join(stray, "fs", "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := m.CleanupAll(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Fatalf("a directory without a record survived: %v", err)
	}
	if _, err := os.Stat(mounts[0].Source); err != nil {
		t.Fatalf("a recorded snapshot's directory went: %v", err)
	}
}
