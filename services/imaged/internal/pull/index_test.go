package pull

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"berth.dev/pkg/namespace"
	"berth.dev/services/imaged/internal/image"
)

var amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}

// nested pushes an image under depth indexes, each the only entry of the
// one above, and returns its reference.
func nested(t *testing.T, host string, depth int) string {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &amd64}})
	for i := 1; i < depth; i++ {
		idx = mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: idx})
	}
	ref := host + "/nested/img:" + strings.Repeat("x", depth)
	r, _ := name.ParseReference(ref, name.Insecure)
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	return ref
}

func TestPullDescendsNestedIndexesUpToTheBound(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	p := &Puller{ConfigDir: t.TempDir()}
	ctx := namespace.WithNamespace(context.Background(), "test")

	src, err := p.resolve(ctx, nested(t, host, image.MaxIndexDepth), amd64, Options{PlainHTTP: true})
	if err != nil {
		t.Fatalf("an image under %d indexes: %v", image.MaxIndexDepth, err)
	}
	if len(src.indexes) != image.MaxIndexDepth {
		t.Fatalf("passed %d indexes, want %d", len(src.indexes), image.MaxIndexDepth)
	}
	if mt, _ := src.img.MediaType(); !mt.IsImage() {
		t.Fatalf("resolved to a %s", mt)
	}
	// Every index names the next: the record's labels chain to the manifest.
	for i, lv := range src.indexes[:len(src.indexes)-1] {
		if lv.child != src.indexes[i+1].dsc.Digest {
			t.Fatalf("index %d follows %s, the next is %s", i, lv.child, src.indexes[i+1].dsc.Digest)
		}
	}

	_, err = p.resolve(ctx, nested(t, host, image.MaxIndexDepth+1), amd64, Options{PlainHTTP: true})
	if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "nest deeper") {
		t.Fatalf("an image under %d indexes: %v, want InvalidArgument", image.MaxIndexDepth+1, err)
	}
}

// A registry answering every manifest request with one index whose entry
// names another digest (as if the index contained itself) ends the pull
// with DataLoss: the digest check refuses what it sends for the entry.
func TestPullOfSelfReferencingIndexEnds(t *testing.T) {
	loop := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[` +
		`{"mediaType":"application/vnd.oci.image.index.v1+json","size":200,` +
		`"digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111"}]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.URL.Path, "/manifests/") {
			w.WriteHeader(http.StatusOK) // the /v2/ ping
			return
		}
		w.Header().Set("Content-Type", string(types.OCIImageIndex))
		w.Write([]byte(loop))
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	p := &Puller{ConfigDir: t.TempDir()}
	ctx := namespace.WithNamespace(context.Background(), "test")
	_, err := p.resolve(ctx, host+"/loop/img:1", amd64, Options{PlainHTTP: true})
	if !errdefs.IsDataLoss(err) {
		t.Fatalf("a registry looping an index: %v, want DataLoss", err)
	}
}
