package images

import (
	"context"
	"fmt"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// RemoveImage removes an image given by id with every name it has; given by
// a tag or digest, it removes that name, and the whole image when no tag is
// left. An image that is not there is removed already.
func (s *Service) RemoveImage(ctx context.Context, req *runtimeapi.RemoveImageRequest) (*runtimeapi.RemoveImageResponse, error) {
	ref := req.GetImage().GetImage()
	img, err := s.Resolve(ctx, ref)
	if errdefs.IsNotFound(err) {
		return &runtimeapi.RemoveImageResponse{}, nil
	}
	if err != nil {
		return nil, err
	}
	names := toRemove(img, ref)
	ctx = nsContext(ctx)
	for i, name := range names {
		// The last deletion collects what the image held, before answering.
		err := s.imaged.DeleteImage(ctx, name, i == len(names)-1)
		if err != nil && !errdefs.IsNotFound(err) {
			return nil, fmt.Errorf("remove image %s: %w", name, err)
		}
	}
	return &runtimeapi.RemoveImageResponse{}, nil
}

// toRemove lists the records removing ref deletes: the name alone when ref
// is a tag or digest and a tag is left, otherwise every record.
func toRemove(img *Image, ref string) []string {
	if name, ok := byName(img, ref); ok && len(without(img.RepoTags, name)) > 0 {
		return []string{name}
	}
	return img.names()
}

// names lists every record of the image, the id record last.
func (img *Image) names() []string {
	out := append(append([]string{}, img.RepoTags...), img.RepoDigests...)
	return append(out, img.ID)
}

// byName reports the normalised name when ref is a tag or digest of img
// rather than its id.
func byName(img *Image, ref string) (string, bool) {
	named, err := reference.ParseDockerRef(ref)
	if err != nil {
		return "", false
	}
	n := named.String()
	return n, contains(img.RepoTags, n) || contains(img.RepoDigests, n)
}

func without(list []string, s string) []string {
	var out []string
	for _, v := range list {
		if v != s {
			out = append(out, v)
		}
	}
	return out
}
