//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	contentapi "github.com/containerd/containerd/api/services/content/v1"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"
	"google.golang.org/grpc"

	imagesv1 "berth.dev/proto/berth/images/v1"
	"berth.dev/test/e2e/harness"
)

// ingestTimeout is the stack's BERTH_IMAGED_INGEST_TIMEOUT.
const ingestTimeout = 2 * time.Second

// TestAbuseBounds: the bounds a hostile or broken client or registry meets
// beyond TestAPIAbuseIsBounded's: a write opened and left idle expires,
// indexes nest at most image.MaxIndexDepth (8) deep, and a registry that
// loops an index ends the pull.
func TestAbuseBounds(t *testing.T) {
	st := harness.Start(t, harness.WithEnv("BERTH_IMAGED_INGEST_TIMEOUT="+ingestTimeout.String()))
	client, err := containerd.New(st.Socket, containerd.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	ctx := namespaces.WithNamespace(context.Background(), "bounds-"+randomHex(t, 6))

	t.Run("idle write expires", func(t *testing.T) {
		// A client opens a write, sends a little and then nothing: the
		// stream ends with Aborted, the ref is free and the data gone.
		ref := "idle-" + randomHex(t, 6)
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		ws, err := contentapi.NewContentClient(client.Conn().(grpc.ClientConnInterface)).Write(sctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := ws.Send(&contentapi.WriteContentRequest{Action: contentapi.WriteAction_WRITE, Ref: ref, Data: []byte("partial")}); err != nil {
			t.Fatal(err)
		}
		if resp, err := ws.Recv(); err != nil || resp.Offset != 7 {
			t.Fatalf("first write: %v, %v", resp, err)
		}
		if st, err := client.ContentStore().Status(ctx, ref); err != nil || st.Offset != 7 {
			t.Fatalf("status of the open write: %+v, %v", st, err)
		}
		_, err = ws.Recv() // returns once the server ends the stream
		if err = errgrpc.ToNative(err); !errdefs.IsAborted(err) {
			t.Fatalf("the idle write ended with %v, want Aborted", err)
		}
		if _, err := client.ContentStore().Status(ctx, ref); !errdefs.IsNotFound(err) {
			t.Fatalf("the expired write's data: %v, want NotFound", err)
		}
		w, err := client.ContentStore().Writer(ctx, content.WithRef(ref))
		if err != nil {
			t.Fatalf("the expired write's ref is still taken: %v", err)
		}
		w.Close()
	})

	t.Run("nested indexes", func(t *testing.T) {
		reg := harness.Registry(t)
		// Three deep pulls, and a collection keeps what the record reaches
		// through them; nine deep is refused.
		ref, manifest := pushNested(t, reg, 3)
		if _, err := serverPull(t, st, &imagesv1.PullRequest{Ref: ref, PlainHttp: true, SkipUnpack: true}); err != nil {
			t.Fatalf("an image under 3 indexes: %v", err)
		}
		dctx := namespaces.WithNamespace(context.Background(), "default")
		l, err := client.LeasesService().Create(dctx, leases.WithRandomID())
		if err != nil {
			t.Fatal(err)
		}
		if err := client.LeasesService().Delete(dctx, l, leases.SynchronousDelete); err != nil {
			t.Fatal(err)
		}
		if _, err := client.ContentStore().Info(dctx, digest.Digest(manifest)); err != nil {
			t.Fatalf("the manifest under 3 indexes after a collection: %v", err)
		}
		deep, _ := pushNested(t, reg, 9)
		_, err = serverPull(t, st, &imagesv1.PullRequest{Ref: deep, PlainHttp: true, SkipUnpack: true})
		if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "deeper than 8") {
			t.Fatalf("an image under 9 indexes: %v, want InvalidArgument", err)
		}
	})

	t.Run("self-referencing index", func(t *testing.T) {
		// Every manifest request gets one index whose entry names another
		// digest, as if it contained itself: the pull ends with DataLoss.
		loop := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[` +
			`{"mediaType":"application/vnd.oci.image.index.v1+json","size":200,` +
			`"digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111"}]}`
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/manifests/") {
				w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
				w.Write([]byte(loop))
			}
		}))
		t.Cleanup(srv.Close)
		ref := strings.TrimPrefix(srv.URL, "http://") + "/loop/img:1"
		_, err := serverPull(t, st, &imagesv1.PullRequest{Ref: ref, PlainHttp: true, SkipUnpack: true})
		if !errdefs.IsDataLoss(err) {
			t.Fatalf("a registry looping an index: %v, want DataLoss", err)
		}
	})
}

// pushNested pushes a linux/amd64 image under depth indexes, each the only
// entry of the one above, and returns its reference and manifest digest.
func pushNested(t *testing.T, reg string, depth int) (string, string) {
	t.Helper()
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img,
		Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}})
	for i := 1; i < depth; i++ {
		idx = mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: idx})
	}
	ref := fmt.Sprintf("%s/nested/img:%d", reg, depth)
	r, _ := name.ParseReference(ref, name.Insecure)
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return ref, d.String()
}
