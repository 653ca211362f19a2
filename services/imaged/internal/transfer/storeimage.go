package transfer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	ggcrtypes "github.com/google/go-containerregistry/pkg/v1/types"

	"berth.dev/services/imaged/internal/content"
)

// storeBlobs reads blobs out of the content store for go-containerregistry,
// which pushes them: images and indexes keep their exact manifest bytes,
// so they keep their digests.
type storeBlobs struct {
	ctx context.Context
	cs  *content.Store
}

func (b storeBlobs) read(dgst string) ([]byte, error) {
	f, _, err := b.cs.Open(b.ctx, dgst)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

func (b storeBlobs) has(dgst string) bool {
	_, err := b.cs.Info(b.ctx, dgst)
	return err == nil
}

// image returns the manifest dgst as a v1.Image.
func (b storeBlobs) image(dgst string, mt ggcrtypes.MediaType) (v1.Image, error) {
	raw, err := b.read(dgst)
	if err != nil {
		return nil, err
	}
	return partial.CompressedToImage(&storeImage{b: b, raw: raw, mt: mt})
}

// index returns the index dgst as a v1.ImageIndex.
func (b storeBlobs) index(dgst string, mt ggcrtypes.MediaType) (*storeIndex, error) {
	raw, err := b.read(dgst)
	if err != nil {
		return nil, err
	}
	var m v1.IndexManifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("index %s: %v: %w", dgst, err, errdefs.ErrInvalidArgument)
	}
	return &storeIndex{b: b, raw: raw, mt: mt, m: &m}, nil
}

type storeImage struct {
	b   storeBlobs
	raw []byte
	mt  ggcrtypes.MediaType
}

func (i *storeImage) RawManifest() ([]byte, error)            { return i.raw, nil }
func (i *storeImage) MediaType() (ggcrtypes.MediaType, error) { return i.mt, nil }

func (i *storeImage) RawConfigFile() ([]byte, error) {
	m, err := v1.ParseManifest(bytes.NewReader(i.raw))
	if err != nil {
		return nil, fmt.Errorf("manifest: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	return i.b.read(m.Config.Digest.String())
}

func (i *storeImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	m, err := v1.ParseManifest(bytes.NewReader(i.raw))
	if err != nil {
		return nil, err
	}
	for _, l := range m.Layers {
		if l.Digest == h {
			return &storeLayer{b: i.b, d: l}, nil
		}
	}
	if m.Config.Digest == h {
		return &storeLayer{b: i.b, d: m.Config}, nil
	}
	return nil, fmt.Errorf("blob %s is not in the manifest: %w", h, errdefs.ErrNotFound)
}

type storeLayer struct {
	b storeBlobs
	d v1.Descriptor
}

func (l *storeLayer) Digest() (v1.Hash, error)                { return l.d.Digest, nil }
func (l *storeLayer) Size() (int64, error)                    { return l.d.Size, nil }
func (l *storeLayer) MediaType() (ggcrtypes.MediaType, error) { return l.d.MediaType, nil }

func (l *storeLayer) Compressed() (io.ReadCloser, error) {
	f, _, err := l.b.cs.Open(l.b.ctx, l.d.Digest.String())
	if err != nil {
		return nil, err
	}
	return f, nil
}

type storeIndex struct {
	b   storeBlobs
	raw []byte
	mt  ggcrtypes.MediaType
	m   *v1.IndexManifest
}

func (x *storeIndex) MediaType() (ggcrtypes.MediaType, error) { return x.mt, nil }
func (x *storeIndex) Digest() (v1.Hash, error)                { return partial.Digest(x) }
func (x *storeIndex) Size() (int64, error)                    { return int64(len(x.raw)), nil }
func (x *storeIndex) IndexManifest() (*v1.IndexManifest, error) {
	return x.m, nil
}
func (x *storeIndex) RawManifest() ([]byte, error) { return x.raw, nil }

func (x *storeIndex) Image(h v1.Hash) (v1.Image, error) {
	for _, d := range x.m.Manifests {
		if d.Digest == h {
			return x.b.image(h.String(), d.MediaType)
		}
	}
	return nil, fmt.Errorf("manifest %s is not in the index: %w", h, errdefs.ErrNotFound)
}

func (x *storeIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	for _, d := range x.m.Manifests {
		if d.Digest == h {
			return x.b.index(h.String(), d.MediaType)
		}
	}
	return nil, fmt.Errorf("index %s is not in the index: %w", h, errdefs.ErrNotFound)
}

// complete reports whether every manifest the index names is present.
func (x *storeIndex) complete() bool {
	for _, d := range x.m.Manifests {
		if !x.b.has(d.Digest.String()) {
			return false
		}
	}
	return true
}
