package transfer

import (
	"context"
	"fmt"

	imagesapi "github.com/containerd/containerd/api/services/images/v1"
	"github.com/containerd/containerd/api/types"
	transfertypes "github.com/containerd/containerd/api/types/transfer"
	"github.com/containerd/errdefs"

	"berth.dev/services/imaged/internal/archive"
	"berth.dev/services/imaged/internal/stream"
)

// export writes the named images as an OCI layout tar onto the client's
// stream.
func (s *Service) export(ctx context.Context, src *transfertypes.ImageStore, dst *transfertypes.ImageExportStream, pr *progress) error {
	imgs, err := s.lookup(ctx, src)
	if err != nil {
		return err
	}
	st, err := s.Streams.Get(ctx, dst.Stream)
	if err != nil {
		return fmt.Errorf("export stream: %w", err)
	}
	w := stream.Writer(ctx, st)
	defer w.Close()
	pr.event("Exporting")
	if err := archive.Export(ctx, s.Content, imgs, w); err != nil {
		return err
	}
	pr.event("Completed export")
	return nil
}

// lookup returns the images an image store source names.
func (s *Service) lookup(ctx context.Context, src *transfertypes.ImageStore) ([]*imagesapi.Image, error) {
	for _, r := range src.ExtraReferences {
		if r.IsPrefix {
			return nil, fmt.Errorf("looking images up by prefix %q: %w", r.Name, errdefs.ErrNotImplemented)
		}
	}
	names := storeNames(src)
	if len(names) == 0 {
		return nil, fmt.Errorf("image store source names no image: %w", errdefs.ErrInvalidArgument)
	}
	var out []*imagesapi.Image
	for _, n := range names {
		img, err := s.Images.Get(ctx, n)
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	return out, nil
}

// tag records the source image under the destination's names.
func (s *Service) tag(ctx context.Context, src, dst *transfertypes.ImageStore) error {
	if src.Name == "" {
		return fmt.Errorf("tag needs a source image name: %w", errdefs.ErrInvalidArgument)
	}
	img, err := s.Images.Get(ctx, src.Name)
	if err != nil {
		return err
	}
	names := storeNames(dst)
	if len(names) == 0 {
		return fmt.Errorf("tag needs a target name: %w", errdefs.ErrInvalidArgument)
	}
	for _, n := range names {
		rec := &imagesapi.Image{Name: n, Target: img.Target, Labels: dst.Labels}
		if _, err := s.Images.Create(ctx, rec); errdefs.IsAlreadyExists(err) {
			paths := []string{"target"}
			if len(dst.Labels) > 0 {
				paths = append(paths, "labels")
			}
			if _, err := s.Images.Update(ctx, rec, paths); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
	}
	return nil
}

func descriptor(mediaType, dgst string, size int64) *types.Descriptor {
	return &types.Descriptor{MediaType: mediaType, Digest: dgst, Size: size}
}
