package images

import (
	"context"
	"fmt"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	imagesv1 "berth.dev/proto/berth/images/v1"
)

// PullImage pulls through imaged and records the image under the CRI's
// names; it answers with the image id.
func (s *Service) PullImage(ctx context.Context, req *runtimeapi.PullImageRequest) (*runtimeapi.PullImageResponse, error) {
	if req.GetImage().GetImage() == "" {
		return nil, fmt.Errorf("pull needs an image reference: %w", errdefs.ErrInvalidArgument)
	}
	id, err := s.pull(ctx, req.Image.Image, req.Auth)
	if err != nil {
		return nil, err
	}
	return &runtimeapi.PullImageResponse{ImageRef: id}, nil
}

// Ensure resolves ref, pulling it when it is missing.
func (s *Service) Ensure(ctx context.Context, ref string, auth *runtimeapi.AuthConfig) (*Image, error) {
	img, err := s.Resolve(ctx, ref)
	if errdefs.IsNotFound(err) {
		id, err := s.pull(ctx, ref, auth)
		if err != nil {
			return nil, err
		}
		return s.Resolve(ctx, id)
	}
	return img, err
}

// pull pulls ref, records it under the CRI's names and returns its id.
// imaged writes every name with the pull's own record (the reference, the
// config digest and the repository digest, as containerd's CRI names a
// pulled image) and answers with the id: the CRI adds no round trip.
func (s *Service) pull(ctx context.Context, ref string, auth *runtimeapi.AuthConfig) (string, error) {
	named, err := reference.ParseDockerRef(ref)
	if err != nil {
		return "", fmt.Errorf("image reference %q: %v: %w", ref, err, errdefs.ErrInvalidArgument)
	}
	labels := map[string]string{ManagedLabel: "managed"}
	if s.pinned(named.String()) {
		labels[PinnedLabel] = "pinned"
	}
	ctx = nsContext(ctx)
	progress, err := s.imaged.Pull(ctx, &imagesv1.PullRequest{Ref: named.String(), Snapshotter: s.cfg.Snapshotter,
		Auth: registryAuth(auth), Labels: labels, DigestNames: true})
	if err != nil {
		return "", fmt.Errorf("pull %s: %w", named, err)
	}
	if progress.GetConfigDigest() == "" {
		return "", fmt.Errorf("pull %s ended without naming the image's config: %w", named, errdefs.ErrUnknown)
	}
	return progress.ConfigDigest, nil
}

func (s *Service) pinned(ref string) bool {
	for _, p := range s.cfg.Pinned {
		if named, err := reference.ParseDockerRef(p); err == nil && named.String() == ref {
			return true
		}
	}
	return false
}

// registryAuth carries the kubelet's credentials to imaged; the server
// address names a registry the pull's host already decides, so it is not
// sent.
func registryAuth(a *runtimeapi.AuthConfig) *imagesv1.RegistryAuth {
	if a == nil {
		return nil
	}
	out := &imagesv1.RegistryAuth{Username: a.Username, Password: a.Password, Auth: strings.TrimSpace(a.Auth),
		IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken}
	if out.Username == "" && out.Password == "" && out.Auth == "" && out.IdentityToken == "" && out.RegistryToken == "" {
		return nil
	}
	return out
}
