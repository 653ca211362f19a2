//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"berth.dev/pkg/grpcclient"
	"berth.dev/pkg/namespace"
	imagesv1 "berth.dev/proto/berth/images/v1"
	"berth.dev/test/e2e/harness"
)

// A pull that finds its lower layers already unpacked (by another image)
// builds its top layer on them. When that other image is removed while the
// top layer still downloads, the collection must leave the layers the pull
// found: they are under the pull's lease from the moment it looked. Before,
// they were collected and the top layer's commit failed with "parent
// snapshot not found" (what the kubelet's parallel pulls of images sharing
// layers met while another pull was cancelled or an image removed).
func TestPullHoldsLayersAnotherImageUnpacked(t *testing.T) {
	base, err := random.Image(64<<10, 2)
	if err != nil {
		t.Fatal(err)
	}
	top, err := random.Layer(256<<10, "application/vnd.docker.image.rootfs.diff.tar.gzip")
	if err != nil {
		t.Fatal(err)
	}
	stacked, err := mutate.AppendLayers(base, top)
	if err != nil {
		t.Fatal(err)
	}
	topDigest, err := top.Digest()
	if err != nil {
		t.Fatal(err)
	}
	// The top layer's download waits until the test lets it go.
	release := make(chan struct{})
	reg := registry.New(registry.Logger(nopLog()))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+topDigest.String()) {
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	released := false
	t.Cleanup(func() {
		if !released {
			close(release)
		}
	})
	host := strings.TrimPrefix(srv.URL, "http://")
	refBase, refStacked := host+"/shared/base:1", host+"/shared/stacked:1"
	harness.Push(t, refBase, base)
	harness.Push(t, refStacked, stacked)
	certs := t.TempDir()
	os.MkdirAll(filepath.Join(certs, host), 0o755)
	os.WriteFile(filepath.Join(certs, host, "hosts.toml"), []byte(fmt.Sprintf("server = \"http://%s\"\n", host)), 0o644)
	st := harness.Start(t, harness.WithEnv("BERTH_REGISTRY_CONFIG_PATH="+certs))

	if _, err := serverPull(t, st, &imagesv1.PullRequest{Ref: refBase}); err != nil {
		t.Fatalf("pull %s: %v", refBase, err)
	}

	cc, err := grpcclient.Dial(st.Socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	ctx, cancel := context.WithTimeout(namespace.WithNamespace(context.Background(), "default"), 2*time.Minute)
	t.Cleanup(cancel)
	stream, err := imagesv1.NewImagesClient(cc).Pull(ctx, &imagesv1.PullRequest{Ref: refStacked})
	if err != nil {
		t.Fatal(err)
	}
	// Wait until the pull has found both lower layers unpacked.
	for {
		p, err := stream.Recv()
		if err != nil {
			t.Fatalf("pull %s ended before its lower layers were found: %v", refStacked, err)
		}
		if len(p.Layers) == 3 && p.Layers[0].State == "unpacked" && p.Layers[1].State == "unpacked" {
			if p.Layers[2].State == "unpacked" {
				t.Fatal("the top layer unpacked while its download was held back")
			}
			break
		}
	}
	// Remove the image that unpacked them, collecting what it alone held.
	st.MustCtr(t, "images", "rm", "--sync", refBase)
	close(release)
	released = true
	for {
		_, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("pull %s after %s was removed: %v", refStacked, refBase, err)
		}
	}
	if out := st.MustCtr(t, "images", "check"); !lineHas(out, refStacked, "complete", "true") {
		t.Fatalf("%s not complete:\n%s", refStacked, out)
	}
	// Its whole chain is there to run on.
	if out := st.MustCtr(t, "snapshots", "ls"); strings.Count(out, "Committed") != 3 {
		t.Fatalf("want the 3 layers of %s committed:\n%s", refStacked, out)
	}
}
