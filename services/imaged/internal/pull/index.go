package pull

import (
	"bytes"
	"fmt"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"berth.dev/services/imaged/internal/image"
)

// indexLevel is one index on the way from the reference to the manifest.
type indexLevel struct {
	raw   []byte
	dsc   v1.Descriptor
	m     *v1.IndexManifest
	child v1.Hash // the entry the pull follows
}

// descend follows desc through indexes, each time to the entry for plat,
// until it reaches an image manifest, and returns the indexes passed and
// the manifest's descriptor. It passes at most image.MaxIndexDepth
// indexes, and never one twice (a registry serving an index for one of its
// own children: the digest check on each fetch refuses that already).
func descend(ref string, repo name.Repository, desc *remote.Descriptor, plat v1.Platform, ropts []remote.Option) ([]indexLevel, *remote.Descriptor, error) {
	var levels []indexLevel
	seen := map[v1.Hash]bool{}
	for desc.MediaType.IsIndex() {
		if len(levels) == image.MaxIndexDepth {
			return nil, nil, image.TooDeep(ref)
		}
		seen[desc.Digest] = true
		m, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
		if err != nil {
			return nil, nil, fmt.Errorf("index %s of %s: %v: %w", desc.Digest, ref, err, errdefs.ErrInvalidArgument)
		}
		child, ok := image.EntryFor(m, plat)
		if !ok {
			return nil, nil, fmt.Errorf("%s has no image for %s/%s: %w", ref, plat.OS, plat.Architecture, errdefs.ErrNotFound)
		}
		if seen[child.Digest] {
			return nil, nil, fmt.Errorf("%s: index %s names itself: %w", ref, child.Digest, errdefs.ErrInvalidArgument)
		}
		levels = append(levels, indexLevel{raw: desc.Manifest, dsc: desc.Descriptor, m: m, child: child.Digest})
		if desc, err = remote.Get(repo.Digest(child.Digest.String()), ropts...); err != nil {
			return nil, nil, classify(ref, err)
		}
	}
	if !desc.MediaType.IsImage() {
		return nil, nil, fmt.Errorf("%s: unsupported media type %s: %w", ref, desc.MediaType, errdefs.ErrNotImplemented)
	}
	return levels, desc, nil
}
