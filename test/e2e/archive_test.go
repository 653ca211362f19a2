//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"berth.dev/test/e2e/harness"
)

func TestServerSideImportExport(t *testing.T) {
	st := harness.Start(t)
	dir := t.TempDir()
	save := filepath.Join(dir, "save.tar")
	harness.DockerArchive(t, save, "berth.local/busybox:1", harness.BusyboxImage(t))

	out, err := st.Berth(t, "--namespace", "srv", "import", save)
	if err != nil || strings.TrimSpace(out) != "berth.local/busybox:1" {
		t.Fatalf("import of a docker save archive: %q %v", out, err)
	}
	if out := st.MustCtr(t, "-n", "srv", "run", "--rm", "berth.local/busybox:1", "imp", "echo", "imported"); !strings.Contains(out, "imported") {
		t.Fatalf("run after import printed %q", out)
	}
	layout := filepath.Join(dir, "layout.tar")
	if out, err := st.Berth(t, "--namespace", "srv", "export", layout, "berth.local/busybox:1"); err != nil {
		t.Fatalf("export: %v %s", err, out)
	}
	// ctr reads Berth's export, and Berth reads it back too.
	st.MustCtr(t, "-n", "viactr", "images", "import", layout)
	if out, err := st.Berth(t, "--namespace", "again", "import", layout); err != nil || !strings.Contains(out, "berth.local/busybox:1") {
		t.Fatalf("import of an OCI layout: %q %v", out, err)
	}
	for _, ns := range []string{"viactr", "again"} {
		if out := st.MustCtr(t, "-n", ns, "run", "--rm", "berth.local/busybox:1", "exp-"+ns, "echo", "round-trip"); !strings.Contains(out, "round-trip") {
			t.Fatalf("%s: run printed %q", ns, out)
		}
	}

	garbage := filepath.Join(dir, "garbage.tar")
	os.WriteFile(garbage, []byte("this is not a tar archive at all, not even close....................."), 0o644)
	if _, err := st.Berth(t, "import", garbage); err == nil || !strings.Contains(err.Error(), "InvalidArgument") && !strings.Contains(err.Error(), "invalid argument") {
		t.Fatalf("import of garbage: %v", err)
	}
	if _, err := st.Berth(t, "export", filepath.Join(dir, "x.tar"), "no/such:image"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("export of an unknown image: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.tar")); !os.IsNotExist(err) {
		t.Fatal("failed export left a file")
	}
}
