//go:build e2e

package e2e

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"

	imagesv1 "berth.dev/proto/berth/images/v1"
	"berth.dev/test/e2e/harness"
)

// pullInBackground starts a server-side pull and returns a channel with its
// result.
func pullInBackground(t *testing.T, st *harness.Stack, ref string) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := serverPull(t, st, &imagesv1.PullRequest{Ref: ref})
		done <- err
	}()
	return done
}

func randomImageStack(t *testing.T) (*harness.Stack, string) {
	reg := harness.Registry(t)
	img, err := random.Image(24<<20, 4)
	if err != nil {
		t.Fatal(err)
	}
	ref := reg + "/crash/random:1"
	harness.Push(t, ref, img)
	certs := t.TempDir()
	os.MkdirAll(filepath.Join(certs, reg), 0o755)
	os.WriteFile(filepath.Join(certs, reg, "hosts.toml"), []byte(fmt.Sprintf("server = \"http://%s\"\n", reg)), 0o644)
	return harness.Start(t, harness.WithEnv("BERTH_REGISTRY_CONFIG_PATH="+certs)), ref
}

// verifyBlobs reads every blob back and checks it against its digest.
func verifyBlobs(t *testing.T, st *harness.Stack) {
	digests := strings.Fields(st.MustCtr(t, "content", "ls", "-q"))
	if len(digests) == 0 {
		t.Fatal("no content")
	}
	for _, d := range digests {
		out, err := st.Ctr(t, "content", "get", d)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(out))); got != d {
			t.Fatalf("blob %s reads back as %s", d, got)
		}
	}
}

func TestImagedKilledMidPull(t *testing.T) {
	st, ref := randomImageStack(t)
	done := pullInBackground(t, st, ref)
	// Kill imaged once the download is under way.
	waitFor(t, 20*time.Second, func() error {
		if matches, _ := filepath.Glob(filepath.Join(st.Root, "imaged/content/ingest/*")); len(matches) == 0 {
			return fmt.Errorf("no ingest yet")
		}
		return nil
	})
	st.Kill(t, "imaged")
	if err := <-done; err == nil {
		t.Log("pull finished before imaged was killed")
	}
	st.StartDaemon(t, "imaged")
	if _, err := serverPull(t, st, &imagesv1.PullRequest{Ref: ref}); err != nil {
		t.Fatalf("pull after restart: %v", err)
	}
	verifyBlobs(t, st)
	if out := st.MustCtr(t, "images", "check"); !lineHas(out, ref, "complete", "true") {
		t.Fatalf("image not complete after the restarted pull:\n%s", out)
	}
}

func TestSnapshotdKilledMidApply(t *testing.T) {
	st, ref := randomImageStack(t)
	done := pullInBackground(t, st, ref)
	waitFor(t, 20*time.Second, func() error {
		if out, _ := st.Ctr(t, "snapshots", "ls"); !strings.Contains(out, "extract-") {
			return fmt.Errorf("no apply under way")
		}
		return nil
	})
	st.Kill(t, "snapshotd")
	if err := <-done; err == nil {
		t.Log("pull finished before snapshotd was killed")
	}
	st.StartDaemon(t, "snapshotd")
	// No apply mount survives the restart.
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mounts), filepath.Join(st.Root, "snapshotd/mounts")) {
		t.Fatal("an apply mount leaked across the restart")
	}
	if _, err := serverPull(t, st, &imagesv1.PullRequest{Ref: ref}); err != nil {
		t.Fatalf("pull after restart: %v", err)
	}
	if out := st.MustCtr(t, "images", "check"); !lineHas(out, ref, "complete", "true") {
		t.Fatalf("image not unpacked after the restarted pull:\n%s", out)
	}
	// Metadata and disk agree: one directory per snapshot listed.
	listed := len(strings.Split(strings.TrimSpace(st.MustCtr(t, "snapshots", "ls")), "\n")) - 1
	dirs, _ := os.ReadDir(filepath.Join(st.Root, "snapshotd/snapshots/overlayfs"))
	if len(dirs) != listed {
		t.Fatalf("%d snapshot directories for %d snapshots", len(dirs), listed)
	}
}
