package images

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	imagesapi "github.com/containerd/containerd/api/services/images/v1"
	"github.com/containerd/containerd/api/types"
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
func (s *Service) pull(ctx context.Context, ref string, auth *runtimeapi.AuthConfig) (string, error) {
	named, err := reference.ParseDockerRef(ref)
	if err != nil {
		return "", fmt.Errorf("image reference %q: %v: %w", ref, err, errdefs.ErrInvalidArgument)
	}
	ctx = nsContext(ctx)
	progress, err := s.imaged.Pull(ctx, &imagesv1.PullRequest{Ref: named.String(), Snapshotter: s.cfg.Snapshotter, Auth: registryAuth(auth)})
	if err != nil {
		return "", fmt.Errorf("pull %s: %w", named, err)
	}
	if progress == nil || progress.Name == "" {
		return "", fmt.Errorf("pull %s ended without naming the image: %w", named, errdefs.ErrUnknown)
	}
	record, err := s.imaged.Image(ctx, progress.Name)
	if err != nil {
		return "", fmt.Errorf("pulled image %s: %w", progress.Name, err)
	}
	t, err := s.resolveTarget(ctx, descriptor(record))
	if err != nil {
		return "", err
	}
	names := []string{record.Name, t.id}
	if _, digested := named.(reference.Canonical); !digested {
		names = append(names, named.Name()+"@"+record.Target.Digest)
	}
	labels := map[string]string{ManagedLabel: "managed"}
	if s.pinned(named.String()) {
		labels[PinnedLabel] = "pinned"
	}
	// Each name is its own record: they are written at once.
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.record(ctx, name, record.Target, labels, name == record.Name)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return "", err
	}
	return t.id, nil
}

// record makes name point at target with labels, as a new record or by
// updating an old one (a tag that moved to a new image, or the record the
// pull made). likely says the record probably exists (the pull's own): it
// is then updated first, others created first, one call each as a rule.
func (s *Service) record(ctx context.Context, name string, target *types.Descriptor, labels map[string]string, likely bool) error {
	img := &imagesapi.Image{Name: name, Target: target, Labels: labels}
	paths := []string{"target"}
	for k := range labels {
		paths = append(paths, "labels."+k)
	}
	var err error
	if likely {
		_, err = s.imaged.UpdateImage(ctx, img, paths...)
		if errdefs.IsNotFound(err) {
			_, err = s.imaged.CreateImage(ctx, img)
		}
	} else {
		_, err = s.imaged.CreateImage(ctx, img)
		if errors.Is(err, errdefs.ErrAlreadyExists) {
			_, err = s.imaged.UpdateImage(ctx, img, paths...)
		}
	}
	if err != nil {
		return fmt.Errorf("record image %s: %w", name, err)
	}
	return nil
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
