package pull

import (
	"context"
	"maps"
	"slices"
	"testing"

	imagesapi "github.com/containerd/containerd/api/services/images/v1"
	"github.com/containerd/containerd/api/types"
	"go.uber.org/zap"

	"berth.dev/pkg/events"
	"berth.dev/pkg/namespace"
	"berth.dev/pkg/store"
	"berth.dev/services/imaged/internal/image"
)

func newImages(t *testing.T) *Puller {
	db, err := store.Open(t.TempDir(), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ob, _ := events.NewOutbox(db, "test")
	return &Puller{Images: image.New(db, ob)}
}

// The CRI's names: the config digest, and the repository digest unless
// the reference is one.
func TestDigestNames(t *testing.T) {
	target := &types.Descriptor{Digest: "sha256:aaaa"}
	tagged := &source{name: "r.example/app:1", repo: "r.example/app"}
	if got := tagged.digestNames(target, "sha256:cccc"); !slices.Equal(got, []string{"sha256:cccc", "r.example/app@sha256:aaaa"}) {
		t.Fatalf("tagged reference: %v", got)
	}
	digested := &source{name: "r.example/app@sha256:aaaa", repo: "r.example/app", digested: true}
	if got := digested.digestNames(target, "sha256:cccc"); !slices.Equal(got, []string{"sha256:cccc"}) {
		t.Fatalf("digest reference: %v", got)
	}
}

// recordAll creates every name; on records already there, merge sets the
// given labels and keeps the others (the CRI's pinned label survives a
// pull that does not pin), and without merge the labels replace them.
func TestRecordAllMergesOrReplacesLabels(t *testing.T) {
	p := newImages(t)
	ctx := namespace.WithNamespace(context.Background(), "test")
	old := &types.Descriptor{MediaType: "application/vnd.oci.image.manifest.v1+json", Digest: "sha256:" + hex64('1'), Size: 1}
	target := &types.Descriptor{MediaType: old.MediaType, Digest: "sha256:" + hex64('2'), Size: 2}
	if _, err := p.Images.Create(ctx, &imagesapi.Image{Name: "r.example/app:1", Target: old,
		Labels: map[string]string{"pinned": "pinned", "managed": "old"}}); err != nil {
		t.Fatal(err)
	}
	names := []string{"r.example/app:1", "sha256:" + hex64('c'), "r.example/app@" + target.Digest}
	if err := p.recordAll(ctx, names, target, map[string]string{"managed": "managed"}, true); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{
		names[0]: {"pinned": "pinned", "managed": "managed"},
		names[1]: {"managed": "managed"},
		names[2]: {"managed": "managed"},
	}
	for n, lbls := range want {
		img, err := p.Images.Get(ctx, n)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if img.Target.Digest != target.Digest || !maps.Equal(img.Labels, lbls) {
			t.Fatalf("%s: target %s labels %v, want %s %v", n, img.Target.Digest, img.Labels, target.Digest, lbls)
		}
	}
	if err := p.recordAll(ctx, names[:1], old, map[string]string{"other": "x"}, false); err != nil {
		t.Fatal(err)
	}
	img, err := p.Images.Get(ctx, names[0])
	if err != nil || img.Target.Digest != old.Digest || !maps.Equal(img.Labels, map[string]string{"other": "x"}) {
		t.Fatalf("replaced: %v, %v", img, err)
	}
}

func hex64(c byte) string {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return string(b)
}
