package images

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Image is one CRI image: every record whose target resolves to the same
// config digest.
type Image struct {
	// ID is the config digest, "sha256:<hex>".
	ID string
	// Name is the name of one image record holding it (a tag when it has
	// one), for containerd's container records.
	Name string
	// RepoTags and RepoDigests are the references naming it.
	RepoTags, RepoDigests []string
	// ChainID names the committed snapshot of the unpacked rootfs.
	ChainID string
	// Config is the image's runtime configuration.
	Config ocispec.ImageConfig
	// Size is the size of the manifest, config and compressed layers.
	Size uint64

	pinned bool
	spec   ocispec.Image
	target string
}

// target is what one record's target descriptor resolves to on this
// node's platform.
type target struct {
	id      string
	chainID string
	size    uint64
	spec    ocispec.Image
}

// resolveTarget reads the manifest (through an index, picking this node's
// platform) and the config the descriptor leads to.
func (s *Service) resolveTarget(ctx context.Context, desc ocispec.Descriptor) (*target, error) {
	if t, ok := s.targets.Load(desc.Digest.String()); ok {
		return t.(*target), nil
	}
	manifestDesc := desc
	if isIndex(desc.MediaType) {
		var idx ocispec.Index
		if err := s.readJSON(ctx, desc.Digest, &idx); err != nil {
			return nil, err
		}
		m, err := pickPlatform(idx.Manifests)
		if err != nil {
			return nil, fmt.Errorf("index %s: %w", desc.Digest, err)
		}
		manifestDesc = m
	}
	var manifest ocispec.Manifest
	if err := s.readJSON(ctx, manifestDesc.Digest, &manifest); err != nil {
		return nil, err
	}
	t := &target{id: manifest.Config.Digest.String(), size: uint64(manifestDesc.Size + manifest.Config.Size)}
	for _, l := range manifest.Layers {
		t.size += uint64(l.Size)
	}
	if err := s.readJSON(ctx, manifest.Config.Digest, &t.spec); err != nil {
		return nil, err
	}
	t.chainID = chainID(t.spec.RootFS.DiffIDs)
	s.targets.Store(desc.Digest.String(), t)
	return t, nil
}

func (s *Service) readJSON(ctx context.Context, dgst digest.Digest, v any) error {
	data, err := s.imaged.ReadBlob(ctx, dgst.String())
	if err != nil {
		return fmt.Errorf("read %s: %w", dgst, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s: %v: %w", dgst, err, errdefs.ErrDataLoss)
	}
	return nil
}

func isIndex(mediaType string) bool {
	return mediaType == ocispec.MediaTypeImageIndex || mediaType == "application/vnd.docker.distribution.manifest.list.v2+json"
}

// pickPlatform chooses linux on this architecture, as imaged's pull does.
func pickPlatform(manifests []ocispec.Descriptor) (ocispec.Descriptor, error) {
	for _, m := range manifests {
		if m.Platform != nil && m.Platform.OS == "linux" && m.Platform.Architecture == runtime.GOARCH {
			return m, nil
		}
	}
	return ocispec.Descriptor{}, fmt.Errorf("no manifest for linux/%s: %w", runtime.GOARCH, errdefs.ErrNotFound)
}

// chainID names the snapshot holding all of diffIDs, as the unpacker
// commits it: chain(n) = sha256(chain(n-1) + " " + diff(n)).
func chainID(diffIDs []digest.Digest) string {
	var out digest.Digest
	for i, d := range diffIDs {
		if i == 0 {
			out = d
			continue
		}
		out = digest.FromString(out.String() + " " + d.String())
	}
	return out.String()
}
