//go:build chaos

package chaos

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/opencontainers/go-digest"

	"berth.dev/test/e2e/harness"
)

// TestImagedKilledMidCommitLeavesNothing restarts imaged over what a
// commit cut by SIGKILL leaves (a commit moves the ingest's data into
// blobs/ before it records the blob, then removes the ingest): the blob
// file nothing records and the ingest without data must go, while a
// recorded blob and an ingest a client may resume stay. The chaos run found
// both after its last collection, once imaged was killed mid-commit.
func TestImagedKilledMidCommitLeavesNothing(t *testing.T) {
	st := harness.Start(t)
	client := newClient(t, st)
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), "regress-commit"), time.Minute)
	defer cancel()
	l, err := client.LeasesService().Create(ctx, leases.WithRandomID())
	if err != nil {
		t.Fatal(err)
	}
	kept, err := writeBlob(leases.WithLease(ctx, l.ID), client.ContentStore(), "kept", []byte("recorded before the kill"))
	if err != nil {
		t.Fatal(err)
	}
	st.Kill(t, "imaged")
	dir := contentDir(st)
	stray := filepath.Join(dir, "blobs", "sha256", digest.FromString("moved, never recorded").Encoded())
	cut := filepath.Join(dir, "ingest", "cut-after-its-rename")
	resumable := filepath.Join(dir, "ingest", "resumable")
	for path, data := range map[string]string{
		stray:                                 "moved, never recorded",
		filepath.Join(cut, "meta.json"):       `{"ref":"cut"}`,
		filepath.Join(resumable, "meta.json"): `{"ref":"resumable"}`,
		filepath.Join(resumable, "data"):      "half of it",
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	st.StartDaemon(t, "imaged")
	for path, want := range map[string]bool{stray: false, cut: false, resumable: true,
		filepath.Join(dir, "blobs", "sha256", kept.Encoded()): true} {
		if _, err := os.Stat(path); (err == nil) != want {
			t.Errorf("%s: present %v after imaged restarted, want %v", path, err == nil, want)
		}
	}
	if _, err := client.ContentStore().Info(ctx, kept); err != nil {
		t.Fatalf("the blob recorded before the kill: %v", err)
	}
}
