//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"berth.dev/test/e2e/harness"
)

// ctr2OrEmpty is BERTH_CTR2 when it names a file.
func ctr2OrEmpty() string {
	p := os.Getenv("BERTH_CTR2")
	if _, err := os.Stat(p); p == "" || err != nil {
		return ""
	}
	return p
}

// ctr2 returns containerd 2.x's ctr (BERTH_CTR2), which pulls, pushes,
// imports and exports through the transfer service.
func ctr2(t *testing.T) string {
	t.Helper()
	p := ctr2OrEmpty()
	if p == "" {
		t.Skipf("BERTH_CTR2 (%q) names no containerd 2.x ctr to drive the transfer service with", os.Getenv("BERTH_CTR2"))
	}
	return p
}

func runCtr2(t *testing.T, bin string, st *harness.Stack, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--address", st.Socket}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("ctr2 %s: %v: %s", strings.Join(args, " "), err, out.String())
	}
	return out.String(), err
}

// randSuffix keeps ids apart between concurrent runs.
func randSuffix() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// authRegistry is a registry on loopback that wants user:secret over
// basic auth.
func authRegistry(t *testing.T, user, secret string) string {
	reg := registry.New(registry.Logger(nopLog()))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != secret {
			w.Header().Set("WWW-Authenticate", `Basic realm="berth-test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestCtr2Transfer drives Berth with containerd 2.x's ctr, whose image
// commands go through the transfer and streaming services: pull with
// credentials asked for over a stream, pull through a hosts.toml mirror,
// run, tag, push, export and import.
func TestCtr2Transfer(t *testing.T) {
	bin := ctr2(t)
	st := harness.Start(t)
	ns := "t2-" + randSuffix()
	reg := authRegistry(t, "berth", "s3cret")
	ref := reg + "/transfer/busybox:1"
	r, _ := name.ParseReference(ref, name.Insecure)
	if err := remote.Write(r, harness.BusyboxImage(t), remote.WithAuth(&authn.Basic{Username: "berth", Password: "s3cret"})); err != nil {
		t.Fatal(err)
	}

	// Credentials travel over the client's auth stream; wrong ones fail.
	if out, err := runCtr2(t, bin, st, "-n", ns, "images", "pull", "--plain-http", "--user", "berth:wrong", ref); err == nil {
		t.Fatalf("pull with wrong credentials succeeded: %s", out)
	}
	out, err := runCtr2(t, bin, st, "-n", ns, "images", "pull", "--plain-http", "--user", "berth:s3cret", ref)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"fetching image content", "saved", "layer (", "Pulling from OCI Registry (" + ref + ")"} {
		if !strings.Contains(out, want) {
			t.Fatalf("pull progress lacks %q:\n%s", want, out)
		}
	}
	if out := st.MustCtr(t, "-n", ns, "run", "--rm", ref, "t2run-"+randSuffix(), "echo", "pulled-through-transfer"); !strings.Contains(out, "pulled-through-transfer") {
		t.Fatalf("run after a transfer pull printed %q", out)
	}

	// A mirror from the client's hosts directory serves docker.io.
	hosts := t.TempDir()
	os.MkdirAll(filepath.Join(hosts, "docker.io"), 0o755)
	os.WriteFile(filepath.Join(hosts, "docker.io", "hosts.toml"), []byte("server = \"https://registry-1.docker.io\"\n[host.\"http://"+reg+"\"]\n  capabilities = [\"pull\", \"resolve\"]\n"), 0o644)
	plain := harness.Registry(t)
	harness.Push(t, plain+"/library/busybox:mirror", harness.BusyboxImage(t))
	os.WriteFile(filepath.Join(hosts, "docker.io", "hosts.toml"), []byte("server = \"https://registry-1.docker.io\"\n[host.\"http://"+plain+"\"]\n  capabilities = [\"pull\", \"resolve\"]\n"), 0o644)
	if _, err := runCtr2(t, bin, st, "-n", ns, "images", "pull", "--hosts-dir", hosts, "docker.io/library/busybox:mirror"); err != nil {
		t.Fatal(err)
	}
	if out := st.MustCtr(t, "-n", ns, "images", "ls", "-q"); !strings.Contains(out, "docker.io/library/busybox:mirror") {
		t.Fatalf("mirror pull recorded no image: %s", out)
	}

	// Tag and push to another repository; the registry then serves the
	// same manifest.
	pushed := reg + "/transfer/pushed:2"
	if _, err := runCtr2(t, bin, st, "-n", ns, "images", "tag", ref, pushed); err != nil {
		t.Fatal(err)
	}
	if _, err := runCtr2(t, bin, st, "-n", ns, "images", "push", "--plain-http", "--user", "berth:s3cret", pushed); err != nil {
		t.Fatal(err)
	}
	pr, _ := name.ParseReference(pushed, name.Insecure)
	desc, err := remote.Head(pr, remote.WithAuth(&authn.Basic{Username: "berth", Password: "s3cret"}))
	if err != nil {
		t.Fatalf("pushed image not in the registry: %v", err)
	}
	img, err := harness.BusyboxImage(t).Digest()
	if err != nil || desc.Digest != img {
		t.Fatalf("registry has %s, pushed %s (%v)", desc.Digest, img, err)
	}

	// Export streams the archive back; import streams it in elsewhere.
	archive := filepath.Join(t.TempDir(), "busybox.tar")
	if _, err := runCtr2(t, bin, st, "-n", ns, "images", "export", archive, ref); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(archive); err != nil || fi.Size() < 1<<20 {
		t.Fatalf("export wrote %v (%v)", fi, err)
	}
	other := ns + "-imp"
	if out, err := runCtr2(t, bin, st, "-n", other, "images", "import", archive); err != nil || !strings.Contains(out, "saved") {
		t.Fatalf("import: %v %s", err, out)
	}
	if out := st.MustCtr(t, "-n", other, "run", "--rm", ref, "t2imp-"+randSuffix(), "echo", "imported-through-transfer"); !strings.Contains(out, "imported-through-transfer") {
		t.Fatalf("run after a transfer import printed %q", out)
	}

	if out, err := runCtr2(t, bin, st, "-n", ns, "images", "export", archive, "no/such:image"); err == nil || !strings.Contains(out, "not found") {
		t.Fatalf("export of an unknown image: %v %s", err, out)
	}
	if out, err := runCtr2(t, bin, st, "-n", ns, "images", "pull", "--plain-http", plain+"/no/such:image"); err == nil || !strings.Contains(out, "not found") {
		t.Fatalf("pull of an unknown image: %v %s", err, out)
	}
}
