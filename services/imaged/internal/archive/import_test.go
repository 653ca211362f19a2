package archive

import (
	"testing"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"berth.dev/services/imaged/internal/image"
)

// An OCI layout whose image sits under depth indexes (index.json the
// first) is read up to image.MaxIndexDepth and refused beyond.
func TestLayoutIndexNestingIsBounded(t *testing.T) {
	plat := v1.Platform{OS: "linux", Architecture: "amd64"}
	layoutOf := func(depth int) string {
		img, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &plat}})
		for i := 1; i < depth; i++ {
			idx = mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: idx})
		}
		dir := t.TempDir()
		if _, err := layout.Write(dir, idx); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	imgs, err := fromLayout(layoutOf(image.MaxIndexDepth), plat)
	if err != nil || len(imgs) != 1 {
		t.Fatalf("an image under %d indexes: %v, %v", image.MaxIndexDepth, imgs, err)
	}
	if _, err := imgs[0].Image.ConfigFile(); err != nil {
		t.Fatalf("the image found: %v", err)
	}
	if _, err := fromLayout(layoutOf(image.MaxIndexDepth+1), plat); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("an image under %d indexes: %v, want InvalidArgument", image.MaxIndexDepth+1, err)
	}
}
