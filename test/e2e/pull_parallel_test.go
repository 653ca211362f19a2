//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	imagesv1 "berth.dev/proto/berth/images/v1"
	"berth.dev/test/e2e/harness"
)

// TestTwentyParallelPulls pulls twenty different images at once. They share
// busybox as their base layer, so the pulls race to fetch and unpack the
// same blob and chain while each brings layers of its own. Every pull must
// finish, every blob read back to its digest, and every image be complete
// and runnable.
func TestTwentyParallelPulls(t *testing.T) {
	const n = 20
	reg := harness.Registry(t)
	base := harness.BusyboxImage(t)
	refs := make([]string, n)
	for i := range refs {
		own, err := random.Layer(256<<10, types.OCIUncompressedLayer)
		if err != nil {
			t.Fatal(err)
		}
		img, err := mutate.AppendLayers(base, own)
		if err != nil {
			t.Fatal(err)
		}
		refs[i] = fmt.Sprintf("%s/parallel/img%d:1", reg, i)
		harness.Push(t, refs[i], img)
	}
	st := harness.Start(t)

	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, ref := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last *imagesv1.PullProgress
			last, errs[i] = serverPull(t, st, &imagesv1.PullRequest{Ref: ref, PlainHttp: true})
			if errs[i] == nil && (last == nil || last.Status != "done") {
				errs[i] = fmt.Errorf("last progress %v", last)
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("pull %s: %v", refs[i], err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	client, err := containerd.New(st.Socket, containerd.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), "default"), 2*time.Minute)
	defer cancel()
	cs := client.ContentStore()
	blobs := 0
	if err := cs.Walk(ctx, func(info content.Info) error {
		blobs++
		ra, err := cs.ReaderAt(ctx, ocispec.Descriptor{Digest: info.Digest, Size: info.Size})
		if err != nil {
			return fmt.Errorf("open %s: %w", info.Digest, err)
		}
		defer ra.Close()
		v := info.Digest.Verifier()
		if _, err := io.Copy(v, content.NewReader(ra)); err != nil {
			return fmt.Errorf("read %s: %w", info.Digest, err)
		}
		if !v.Verified() {
			return fmt.Errorf("blob %s does not read back to its digest", info.Digest)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Each image: its manifest, config and own layer; busybox's layer once.
	if want := 3*n + 1; blobs != want {
		t.Fatalf("%d blobs in the content store, want %d", blobs, want)
	}
	for _, ref := range refs {
		img, err := client.GetImage(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := img.IsUnpacked(ctx, "overlayfs"); err != nil || !ok {
			t.Fatalf("%s unpacked %v: %v", ref, ok, err)
		}
	}
	for _, i := range []int{0, n - 1} {
		id := fmt.Sprintf("parallel-%d-%d", i, time.Now().UnixNano())
		if out := st.MustCtr(t, "run", "--rm", refs[i], id, "sh", "-c", "echo ran"); out != "ran\n" {
			t.Fatalf("run %s printed %q", refs[i], out)
		}
	}
}

// TestPullAgainWhenOnlyTheSnapshotRemains pulls an image whose layer
// snapshot exists but whose blob was removed: the download streams the
// blob for an apply that is not needed. The pull must not wait on that
// stream (a layer larger than the pipe between them once hung it).
func TestPullAgainWhenOnlyTheSnapshotRemains(t *testing.T) {
	reg := harness.Registry(t)
	layer, err := random.Layer(3<<20, types.OCIUncompressedLayer)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(harness.BusyboxImage(t), layer)
	if err != nil {
		t.Fatal(err)
	}
	ref := reg + "/parallel/again:1"
	harness.Push(t, ref, img)
	st := harness.Start(t)
	pull := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		done := make(chan error, 1)
		go func() {
			_, err := serverPull(t, st, &imagesv1.PullRequest{Ref: ref, PlainHttp: true})
			done <- err
		}()
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			return fmt.Errorf("pull still running after a minute")
		}
	}
	if err := pull(); err != nil {
		t.Fatal(err)
	}
	d, err := layer.Digest()
	if err != nil {
		t.Fatal(err)
	}
	st.MustCtr(t, "content", "rm", d.String())
	if err := pull(); err != nil {
		t.Fatal(err)
	}
	if out := st.MustCtr(t, "content", "ls", "-q"); !strings.Contains(out, d.String()) {
		t.Fatalf("the pull did not bring %s back:\n%s", d, out)
	}
}
