//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	imagesv1 "berth.dev/proto/berth/images/v1"
	"berth.dev/test/e2e/harness"
)

// importBusybox imports the locally built busybox image as ref.
func importBusybox(t *testing.T, st *harness.Stack, ref string) {
	t.Helper()
	tar := filepath.Join(t.TempDir(), "busybox.tar")
	harness.DockerArchive(t, tar, ref, harness.BusyboxImage(t))
	st.MustCtr(t, "images", "import", tar)
}

func TestImagesPullFromRegistry(t *testing.T) {
	st := harness.Start(t)
	reg := harness.Registry(t)
	ref := reg + "/busybox:1"
	harness.Push(t, ref, harness.BusyboxImage(t))
	st.MustCtr(t, "images", "pull", "--plain-http", ref)
	out := st.MustCtr(t, "images", "check")
	if !lineHas(out, ref, "complete", "true") {
		t.Fatalf("pulled image not complete and unpacked:\n%s", out)
	}
	out = st.MustCtr(t, "run", "--rm", ref, "pulled", "echo", "ran-pulled")
	if !strings.Contains(out, "ran-pulled") {
		t.Fatalf("run of the pulled image printed %q", out)
	}
	if _, err := st.Ctr(t, "images", "pull", "--plain-http", reg+"/missing:1"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("pull of a missing image: %v", err)
	}
}

func TestImagesTagExportImportRemovePrune(t *testing.T) {
	st := harness.Start(t)
	importBusybox(t, st, "berth.local/busybox:1")
	st.MustCtr(t, "images", "tag", "berth.local/busybox:1", "berth.local/busybox:copy")
	out := st.MustCtr(t, "images", "ls", "-q")
	if !strings.Contains(out, "berth.local/busybox:copy") {
		t.Fatalf("tag not listed:\n%s", out)
	}
	export := filepath.Join(t.TempDir(), "export.tar")
	st.MustCtr(t, "images", "export", export, "berth.local/busybox:copy")
	if fi, err := os.Stat(export); err != nil || fi.Size() < 1<<20 {
		t.Fatalf("export: %v", err)
	}
	blobs := st.MustCtr(t, "content", "ls", "-q")
	if n := len(strings.Fields(blobs)); n < 3 {
		t.Fatalf("content ls lists %d blobs:\n%s", n, blobs)
	}
	digest := strings.Fields(blobs)[0]
	if out := st.MustCtr(t, "content", "get", digest); len(out) == 0 {
		t.Fatal("content get returned nothing")
	}
	// A running container keeps its snapshot through a collection.
	st.MustCtr(t, "run", "-d", "berth.local/busybox:1", "holder", "sleep", "1000")
	st.MustCtr(t, "images", "rm", "berth.local/busybox:1", "berth.local/busybox:copy")
	st.MustCtr(t, "content", "prune", "references")
	waitFor(t, 10*time.Second, func() error {
		if out := st.MustCtr(t, "content", "ls", "-q"); strings.TrimSpace(out) != "" {
			return fmt.Errorf("content left after removing every image: %s", out)
		}
		return nil
	})
	if out := st.MustCtr(t, "snapshots", "ls"); !strings.Contains(out, "holder") {
		t.Fatalf("the running container's snapshot was collected:\n%s", out)
	}
	st.MustCtr(t, "task", "kill", "-s", "9", "holder")
	waitFor(t, 10*time.Second, func() error { _, err := st.Ctr(t, "task", "rm", "holder"); return err })
	st.MustCtr(t, "containers", "rm", "holder")
	st.MustCtr(t, "content", "prune", "references")
	if out := st.MustCtr(t, "snapshots", "ls"); len(strings.Split(strings.TrimSpace(out), "\n")) != 1 {
		t.Fatalf("snapshots left after removing every image and container: %q", out)
	}
	// The exported archive brings it all back.
	st.MustCtr(t, "images", "import", export)
	out = st.MustCtr(t, "run", "--rm", "berth.local/busybox:copy", "reimported", "echo", "back")
	if !strings.Contains(out, "back") {
		t.Fatalf("run after reimport printed %q", out)
	}
}

func TestNamespaceWithResourcesCannotBeDeleted(t *testing.T) {
	st := harness.Start(t)
	tar := filepath.Join(t.TempDir(), "busybox.tar")
	harness.DockerArchive(t, tar, "berth.local/busybox:1", harness.BusyboxImage(t))
	st.MustCtr(t, "-n", "full", "images", "import", tar)
	_, err := st.Ctr(t, "namespaces", "rm", "full")
	if err == nil || !strings.Contains(err.Error(), "failed precondition") || !strings.Contains(err.Error(), "image berth.local/busybox:1") {
		t.Fatalf("deleting a namespace with an image: %v", err)
	}
	if out := st.MustCtr(t, "images", "ls", "-q"); strings.Contains(out, "busybox") {
		t.Fatalf("namespace isolation: default lists %s", out)
	}
}

// TestPullFromDistributionRegistry pulls from a real registry server, both
// through ctr and with Berth's own pull.
func TestPullFromDistributionRegistry(t *testing.T) {
	reg := harness.DockerRegistry(t)
	ref := reg + "/real/busybox:1"
	harness.Push(t, ref, harness.BusyboxImage(t))
	certs := t.TempDir()
	os.MkdirAll(filepath.Join(certs, reg), 0o755)
	os.WriteFile(filepath.Join(certs, reg, "hosts.toml"), []byte("server = \"http://"+reg+"\"\n"), 0o644)
	st := harness.Start(t, harness.WithEnv("BERTH_REGISTRY_CONFIG_PATH="+certs))
	st.MustCtr(t, "-n", "viactr", "images", "pull", "--plain-http", ref)
	if _, err := serverPull(t, st, &imagesv1.PullRequest{Ref: ref}); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"viactr", "default"} {
		out := st.MustCtr(t, "-n", ns, "run", "--rm", ref, "real-"+ns, "echo", "from-distribution")
		if !strings.Contains(out, "from-distribution") {
			t.Fatalf("%s: run printed %q", ns, out)
		}
	}
}
