package image

import (
	"fmt"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// MaxIndexDepth bounds how many indexes an image may nest, one inside the
// other, on the way to its manifest. Real images nest one or two (a
// platform index, an archive's index.json above it); containerd walks any
// depth, so a registry or archive with a chain of thousands would cost a
// fetch and a frame each. Deeper is errdefs.ErrInvalidArgument.
const MaxIndexDepth = 8

// TooDeep is the error for an index nested deeper than MaxIndexDepth.
func TooDeep(what string) error {
	return fmt.Errorf("%s: indexes nest deeper than %d levels: %w", what, MaxIndexDepth, errdefs.ErrInvalidArgument)
}

// EntryFor picks the entry of an index to follow for plat: the first that
// names it, else the first nested index that names no platform (its own
// entries do).
func EntryFor(m *v1.IndexManifest, plat v1.Platform) (v1.Descriptor, bool) {
	for _, d := range m.Manifests {
		if d.Platform != nil && d.Platform.Satisfies(plat) {
			return d, true
		}
	}
	for _, d := range m.Manifests {
		if d.Platform == nil && d.MediaType.IsIndex() {
			return d, true
		}
	}
	return v1.Descriptor{}, false
}
