package images

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	imagesapi "github.com/containerd/containerd/api/services/images/v1"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"go.uber.org/zap"

	"berth.dev/pkg/log"
)

var hexPrefix = regexp.MustCompile(`^[a-f0-9]{1,64}$`)

// Resolve finds an image by id ("sha256:<hex>", the bare hex, or a unique
// prefix of it), by name ("busybox" is docker.io/library/busybox:latest)
// or by repository digest (repo@sha256:...). errdefs.ErrNotFound when no
// image matches.
func (s *Service) Resolve(ctx context.Context, ref string) (*Image, error) {
	if ref == "" {
		return nil, fmt.Errorf("image reference is empty: %w", errdefs.ErrInvalidArgument)
	}
	all, err := s.list(ctx)
	if err != nil {
		return nil, err
	}
	if img := match(all, ref); img != nil {
		return img, nil
	}
	return nil, fmt.Errorf("image %q: %w", ref, errdefs.ErrNotFound)
}

// match follows containerd's lookup order: a full digest is an id; then a
// normalised reference; then an id prefix.
func match(all []*Image, ref string) *Image {
	if d, err := digest.Parse(ref); err == nil {
		for _, img := range all {
			if img.ID == d.String() {
				return img
			}
		}
		return nil
	}
	if named, err := reference.ParseDockerRef(ref); err == nil {
		name := named.String()
		for _, img := range all {
			if contains(img.RepoTags, name) || contains(img.RepoDigests, name) {
				return img
			}
		}
	}
	if !hexPrefix.MatchString(ref) {
		return nil
	}
	var found *Image
	for _, img := range all {
		if strings.HasPrefix(strings.TrimPrefix(img.ID, "sha256:"), ref) {
			if found != nil {
				return nil // ambiguous
			}
			found = img
		}
	}
	return found
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// list groups the namespace's image records by the config they resolve to.
// Records whose content is missing or unreadable are skipped: they are not
// images the CRI can run.
func (s *Service) list(ctx context.Context) ([]*Image, error) {
	ctx = nsContext(ctx)
	records, err := s.imaged.Images(ctx)
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	byID := map[string]*Image{}
	var order []string
	for _, r := range records {
		if r.Target == nil {
			continue
		}
		t, err := s.resolveTarget(ctx, descriptor(r))
		if err != nil {
			log.G(ctx).Debug("image record does not resolve", zap.String("name", r.Name), zap.Error(err))
			continue
		}
		img := byID[t.id]
		if img == nil {
			img = &Image{ID: t.id, ChainID: t.chainID, Config: t.spec.Config, Size: t.size, spec: t.spec, target: r.Target.Digest}
			byID[t.id] = img
			order = append(order, t.id)
		}
		addRecord(img, r)
	}
	out := make([]*Image, 0, len(order))
	for _, id := range order {
		img := byID[id]
		sort.Strings(img.RepoTags)
		sort.Strings(img.RepoDigests)
		if img.Name == "" {
			img.Name = img.ID
		}
		out = append(out, img)
	}
	return out, nil
}

// addRecord files one record's name under the image as a tag or a digest
// (the id record adds no name) and picks the record a container names: a tag before a digest.
func addRecord(img *Image, r *imagesapi.Image) {
	if r.Labels[PinnedLabel] == "pinned" {
		img.pinned = true
	}
	if r.Name == img.ID {
		return
	}
	named, err := reference.ParseNormalizedNamed(r.Name)
	if err != nil {
		return
	}
	switch named.(type) {
	case reference.Canonical:
		img.RepoDigests = append(img.RepoDigests, named.String())
		if img.Name == "" {
			img.Name = r.Name
		}
	case reference.Tagged:
		img.RepoTags = append(img.RepoTags, named.String())
		if img.Name == "" || strings.Contains(img.Name, "@") {
			img.Name = r.Name
		}
	}
}

func descriptor(r *imagesapi.Image) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: r.Target.MediaType, Digest: digest.Digest(r.Target.Digest), Size: r.Target.Size}
}
