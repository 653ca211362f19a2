package transfer

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"

	transfertypes "github.com/containerd/containerd/api/types/transfer"
	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ggcrtypes "github.com/google/go-containerregistry/pkg/v1/types"

	"berth.dev/services/imaged/internal/pull"
	"berth.dev/services/imaged/internal/registry"
)

// push uploads an image of the store to a registry: an index with every
// manifest it names when all are present, else the manifest for the
// platform asked for (or the node's).
func (s *Service) push(ctx context.Context, src *transfertypes.ImageStore, dst *transfertypes.OCIRegistry, pr *progress) error {
	if src.Name == "" {
		return fmt.Errorf("push needs a source image name: %w", errdefs.ErrInvalidArgument)
	}
	img, err := s.Images.Get(ctx, src.Name)
	if err != nil {
		return err
	}
	ref, opts, err := s.pushTarget(ctx, dst)
	if err != nil {
		return err
	}
	to := fmt.Sprintf("OCI Registry (%s)", dst.Reference)
	pr.event("Pushing to " + to)
	pr.send(&transfertypes.Progress{Event: "pushing content", Name: dst.Reference, Desc: img.Target})
	updates := make(chan v1.Update, 16)
	opts = append(opts, remote.WithProgress(updates))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for u := range updates {
			pr.send(&transfertypes.Progress{Event: "uploading", Name: refKey(img.Target), Parents: []string{dst.Reference},
				Progress: u.Complete, Total: u.Total, Desc: img.Target})
		}
	}()
	err = s.write(ctx, ref, img.Target.Digest, ggcrtypes.MediaType(img.Target.MediaType), platformOf(src), opts)
	<-done
	if err != nil {
		return fmt.Errorf("push %s to %s: %w", src.Name, dst.Reference, err)
	}
	pr.send(&transfertypes.Progress{Event: "pushed content", Name: dst.Reference, Desc: img.Target})
	pr.event("Completed push to " + to)
	return nil
}

// write pushes the target; the progress channel in opts is closed when it
// returns.
func (s *Service) write(ctx context.Context, ref name.Reference, dgst string, mt ggcrtypes.MediaType, plat string, opts []remote.Option) error {
	blobs := storeBlobs{ctx: ctx, cs: s.Content}
	if !mt.IsIndex() {
		img, err := blobs.image(dgst, mt)
		if err != nil {
			return err
		}
		return remote.Write(ref, img, opts...)
	}
	idx, err := blobs.index(dgst, mt)
	if err != nil {
		return err
	}
	if idx.complete() {
		return remote.WriteIndex(ref, idx, opts...)
	}
	p, err := pull.ParsePlatform(plat)
	if err != nil {
		return err
	}
	for _, d := range idx.m.Manifests {
		if d.Platform != nil && d.Platform.Satisfies(p) && blobs.has(d.Digest.String()) {
			img, err := blobs.image(d.Digest.String(), d.MediaType)
			if err != nil {
				return err
			}
			return remote.Write(ref, img, opts...)
		}
	}
	return fmt.Errorf("the store has no manifest of %s for %s/%s: %w", dgst, p.OS, p.Architecture, errdefs.ErrNotFound)
}

func platformOf(src *transfertypes.ImageStore) string {
	if len(src.Platforms) == 0 {
		return ""
	}
	return unpackPlatform(&transfertypes.ImageStore{Platforms: src.Platforms[:1]})
}

// pushTarget resolves where to push: the registry's server from its
// hosts.toml (mirrors only serve pulls), with the client's scheme and
// credentials.
func (s *Service) pushTarget(ctx context.Context, dst *transfertypes.OCIRegistry) (name.Reference, []remote.Option, error) {
	parsed, host, _, err := pull.Normalize(dst.Reference)
	if err != nil {
		return nil, nil, err
	}
	popts, err := s.registryOptions(ctx, dst)
	if err != nil {
		return nil, nil, err
	}
	dir := s.Puller.ConfigDir
	if popts.ConfigDir != "" {
		dir = popts.ConfigDir
	}
	eps, err := registry.Endpoints(dir, host)
	if err != nil {
		return nil, nil, err
	}
	ep := eps[len(eps)-1]
	var nopts []name.Option
	if ep.PlainHTTP || (popts.PlainHTTP && ep.Host == host) {
		nopts = append(nopts, name.Insecure)
	}
	sep := ":"
	if _, ok := parsed.(name.Digest); ok {
		sep = "@"
	}
	ref, err := name.ParseReference(ep.Host+"/"+parsed.Context().RepositoryStr()+sep+parsed.Identifier(), nopts...)
	if err != nil {
		return nil, nil, fmt.Errorf("reference %q: %v: %w", dst.Reference, err, errdefs.ErrInvalidArgument)
	}
	var auth authn.Authenticator = registry.Credentials(s.Puller.AuthFile, host)
	if popts.Auth != nil {
		auth = popts.Auth(host)
	}
	t := remote.DefaultTransport.(*http.Transport).Clone()
	if ep.SkipVerify {
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the operator asked for it in hosts.toml
	}
	return ref, []remote.Option{remote.WithContext(ctx), remote.WithAuth(auth), remote.WithTransport(t)}, nil
}
