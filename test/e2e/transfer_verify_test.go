//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	imagesv1 "berth.dev/proto/berth/images/v1"
	"berth.dev/test/e2e/harness"
)

// gzipNamed compresses raw with name in the gzip header: the same
// uncompressed layer (diff id) under another compressed digest.
func gzipNamed(raw []byte, name string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Name = name
	zw.Write(raw)
	zw.Close()
	return b.Bytes()
}

// TestStreamedLayerWithWrongDigestIsDiscarded serves a layer whose bytes
// unpack to exactly what the image's config says but do not match the
// manifest's digest. The pull applies layers while they download, so the
// apply itself succeeds; the pull must still fail and leave neither the
// snapshot nor the blob nor the image.
func TestStreamedLayerWithWrongDigestIsDiscarded(t *testing.T) {
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	body := bytes.Repeat([]byte("berth "), 200_000)
	tw.WriteHeader(&tar.Header{Name: "data", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
	tw.Write(body)
	tw.Close()
	good, evil := gzipNamed(raw.Bytes(), "a"), gzipNamed(raw.Bytes(), "b")
	if len(good) != len(evil) || bytes.Equal(good, evil) {
		t.Fatal("the two compressions should differ in content only")
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(good)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	dgst, _ := layer.Digest()
	diffID, _ := layer.DiffID()

	upstream := harness.Registry(t)
	harness.Push(t, upstream+"/verify/layer:1", img)
	// A registry in front that swaps the layer's bytes.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+dgst.String()) {
			w.Write(evil)
			return
		}
		proxy(w, r, upstream)
	}))
	t.Cleanup(srv.Close)
	ref := strings.TrimPrefix(srv.URL, "http://") + "/verify/layer:1"

	st := harness.Start(t)
	_, err = serverPull(t, st, &imagesv1.PullRequest{Ref: ref})
	if err == nil || !strings.Contains(err.Error(), "digest") {
		t.Fatalf("pull of a layer with the wrong digest: %v", err)
	}
	if out := st.MustCtr(t, "snapshots", "ls"); strings.Contains(out, diffID.String()) || strings.Contains(out, "extract-") {
		t.Fatalf("the streamed apply survived the failed pull:\n%s", out)
	}
	if out := st.MustCtr(t, "content", "ls", "-q"); strings.Contains(out, dgst.String()) {
		t.Fatalf("the wrong blob was committed:\n%s", out)
	}
	if out := st.MustCtr(t, "images", "ls", "-q"); strings.TrimSpace(out) != "" {
		t.Fatalf("an image was recorded: %s", out)
	}
	// The registry serving the right bytes, the same pull works.
	if _, err := serverPull(t, st, &imagesv1.PullRequest{Ref: upstream + "/verify/layer:1"}); err != nil {
		t.Fatal(err)
	}
	if out := st.MustCtr(t, "snapshots", "ls"); !strings.Contains(out, diffID.String()) {
		t.Fatalf("no snapshot after a good pull:\n%s", out)
	}
}

// proxy forwards r to the registry at host.
func proxy(w http.ResponseWriter, r *http.Request, host string) {
	out, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+host+r.URL.RequestURI(), r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}
