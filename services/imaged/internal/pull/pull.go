package pull

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"

	contentapi "github.com/containerd/containerd/api/services/content/v1"
	imagesapi "github.com/containerd/containerd/api/services/images/v1"
	"github.com/containerd/containerd/api/types"
	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"go.uber.org/zap"

	"berth.dev/pkg/lease"
	"berth.dev/pkg/log"
	"berth.dev/pkg/namespace"
	"berth.dev/pkg/snapshotdclient"
	imagesv1 "berth.dev/proto/berth/images/v1"
	"berth.dev/services/imaged/internal/content"
	"berth.dev/services/imaged/internal/image"
	leasestore "berth.dev/services/imaged/internal/lease"
	"berth.dev/services/imaged/internal/registry"
)

// Puller runs server-side pulls.
type Puller struct {
	Content   *content.Store
	Images    *image.Store
	Leases    *leasestore.Store
	Snapshots *snapshotdclient.Client
	// ConfigDir holds certs.d-style <host>/hosts.toml files.
	ConfigDir string
	// AuthFile is a docker config.json with credentials.
	AuthFile string
	// MaxConcurrent bounds parallel layer downloads.
	MaxConcurrent int
	// ProgressTimeout is how long a registry may send nothing before the
	// request waiting on it fails (DefaultProgressTimeout when zero,
	// never when negative).
	ProgressTimeout time.Duration
}

// source is a resolved image.
type source struct {
	name string // the image record's name, docker.io/library/busybox:1
	// repo is the name's repository (docker.io/library/busybox), digested
	// says the reference names a digest rather than a tag.
	repo     string
	digested bool
	// indexes are those the registry answered with on the way to the
	// manifest, outermost first.
	indexes []indexLevel
	img     v1.Image
	// blobs fetches byte ranges of blobs from the endpoint that answered,
	// to resume interrupted downloads; nil for images not from a registry.
	blobs *rangeFetcher
}

// Options adjust a pull for callers inside imaged (containerd's transfer
// service); the zero value is berth.images.v1's pull.
type Options struct {
	// Names are the image records written; empty means the normalized
	// reference.
	Names []string
	// Labels are set on the image records.
	Labels map[string]string
	// ConfigDir replaces the daemon's certs.d directory when set.
	ConfigDir string
	// PlainHTTP makes the registry host itself (not a mirror named with
	// its scheme) speak http.
	PlainHTTP bool
	// RegistryAuth, when set, replaces the daemon's auth file for the
	// reference's registry (the CRI passes the kubelet's pull secret).
	RegistryAuth *imagesv1.RegistryAuth
	// Auth, when set, supplies credentials for a registry host instead of
	// the daemon's auth file.
	Auth func(host string) authn.Authenticator
	// Resolved is told the image's name and the descriptor its record
	// will point at, once the registry answered.
	Resolved func(name string, target *types.Descriptor)
}

// Pull pulls req.Ref into the namespace of ctx, calling report with
// progress until it returns.
func (p *Puller) Pull(ctx context.Context, req *imagesv1.PullRequest, report func(*imagesv1.PullProgress) error) error {
	return p.PullWith(ctx, req, Options{}, report)
}

// PullWith is Pull adjusted by opts.
func (p *Puller) PullWith(ctx context.Context, req *imagesv1.PullRequest, opts Options, report func(*imagesv1.PullProgress) error) error {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return err
	}
	plat, err := ParsePlatform(req.Platform)
	if err != nil {
		return err
	}
	if req.Auth != nil {
		opts.RegistryAuth = req.Auth
	}
	if req.PlainHttp {
		opts.PlainHTTP = true
	}
	prog := &progress{}
	prog.setStatus("resolving")
	src, ctx, release, err := p.resolveHeld(ctx, ns, req.Ref, plat, opts)
	if err != nil {
		return err
	}
	defer release()
	prog.p.Name = src.name
	if opts.Resolved != nil {
		opts.Resolved(src.name, src.target())
	}

	done := make(chan struct{})
	reported := make(chan error, 1)
	go func() { reported <- reportLoop(prog, report, done) }()
	target, err := p.fetchAndUnpack(ctx, src, req, prog)
	if err == nil {
		names := opts.Names
		if len(names) == 0 {
			names = []string{src.name}
		}
		if req.DigestNames {
			names = append(names, src.digestNames(target, prog.config)...)
		}
		labels, merge := opts.Labels, false
		if len(req.Labels) > 0 {
			labels, merge = req.Labels, true
		}
		err = p.recordAll(ctx, names, target, labels, merge)
	}
	if err == nil {
		prog.done(target.Digest)
	}
	close(done)
	if rerr := <-reported; err == nil {
		err = rerr
	}
	return err
}

// resolveHeld resolves ref while it creates the pull's lease (two round
// trips that need nothing of each other), and returns a context writing
// under the lease and the lease's release, which is the caller's unless
// it fails.
func (p *Puller) resolveHeld(ctx context.Context, ns, ref string, plat v1.Platform, opts Options) (*source, context.Context, func(), error) {
	held := make(chan struct{})
	var (
		hctx    context.Context
		release func()
		herr    error
	)
	go func() {
		defer close(held)
		hctx, release, herr = p.hold(ctx, ns)
	}()
	src, err := p.resolve(ctx, ref, plat, opts)
	<-held
	if err == nil {
		err = herr
	}
	if err != nil {
		if herr == nil {
			release()
		}
		return nil, nil, nil, err
	}
	return src, hctx, release, nil
}

// digests are those of the blobs the pull writes: the indexes, the
// manifest, the config and the layers.
func (s *source) digests(manifest, config v1.Hash, layers []*types.Descriptor) []string {
	out := make([]string, 0, len(s.indexes)+2+len(layers))
	for _, lv := range s.indexes {
		out = append(out, lv.dsc.Digest.String())
	}
	out = append(out, manifest.String(), config.String())
	for _, l := range layers {
		out = append(out, l.Digest)
	}
	return out
}

// target is the descriptor the image record points at: the index when
// the registry answered with one, else the manifest.
func (s *source) target() *types.Descriptor {
	if len(s.indexes) > 0 {
		d := s.indexes[0].dsc
		return &types.Descriptor{MediaType: string(d.MediaType), Digest: d.Digest.String(), Size: d.Size}
	}
	mt, _ := s.img.MediaType()
	d, _ := s.img.Digest()
	size, _ := s.img.Size()
	return &types.Descriptor{MediaType: string(mt), Digest: d.String(), Size: size}
}

// hold creates a lease that keeps what the operation writes until the image
// record exists, and returns a context writing under it.
func (p *Puller) hold(ctx context.Context, ns string) (context.Context, func(), error) {
	l, err := p.Leases.Create(ctx, "pull-"+randomID(), map[string]string{
		leasestore.ExpireLabel: time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
		LeaseLabel:             leaseLabelValue,
	})
	if err != nil {
		return nil, nil, err
	}
	release := func() { p.Leases.Delete(namespace.WithNamespace(context.Background(), ns), l.ID) }
	return lease.WithLease(namespace.WithNamespace(ctx, ns), l.ID), release, nil
}

// LeaseLabel marks the leases imaged's own pulls (and imports) hold their
// content under. No pull survives imaged, so those a previous process left
// hold nothing anyone will use: EndInterrupted ends them at start.
const LeaseLabel = "berth.dev/pull"

const leaseLabelValue = "imaged"

// EndInterrupted deletes the leases of pulls a previous imaged process was
// running when it stopped; it must run before this process pulls. The next
// collection removes what they held, except ingests, which a retried pull
// resumes.
func (p *Puller) EndInterrupted(ctx context.Context) error {
	n, err := p.Leases.DeleteLabelled(LeaseLabel, leaseLabelValue)
	if err != nil {
		return fmt.Errorf("end the leases of interrupted pulls: %w", err)
	}
	if n > 0 {
		log.G(ctx).Info("ended the leases of pulls the previous process was running", zap.Int("count", n))
	}
	return nil
}

// Store records an image read from elsewhere (an imported archive) the way
// a pull would: blobs verified into the content store, layers unpacked
// unless skipUnpack, GC labels, and the image record with labels.
func (p *Puller) Store(ctx context.Context, name string, img v1.Image, snapshotter string, skipUnpack bool, labels map[string]string) error {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return err
	}
	ctx, release, err := p.hold(ctx, ns)
	if err != nil {
		return err
	}
	defer release()
	target, err := p.fetchAndUnpack(ctx, &source{name: name, img: img}, &imagesv1.PullRequest{Snapshotter: snapshotter, SkipUnpack: skipUnpack}, &progress{})
	if err != nil {
		return err
	}
	return p.record(ctx, name, target, labels, false)
}

func reportLoop(prog *progress, report func(*imagesv1.PullProgress) error, done <-chan struct{}) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return report(prog.snapshot())
		case <-tick.C:
			if err := report(prog.snapshot()); err != nil {
				return err
			}
		}
	}
}

// digestNames are the names the CRI gives an image besides the
// reference's: its config digest, and its repository digest when the
// reference names a tag (a digest reference is that name already).
func (s *source) digestNames(target *types.Descriptor, config string) []string {
	names := []string{config}
	if !s.digested {
		names = append(names, s.repo+"@"+target.Digest)
	}
	return names
}

// recordAll writes the image's records, each its own transaction, at once:
// the store syncs them together.
func (p *Puller) recordAll(ctx context.Context, names []string, target *types.Descriptor, labels map[string]string, merge bool) error {
	if len(names) == 1 {
		return p.record(ctx, names[0], target, labels, merge)
	}
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.record(ctx, n, target, labels, merge)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// record makes name point at target with labels, creating the record or
// updating the one there; merge keeps the labels of an existing record
// that labels does not name, else labels replace them.
func (p *Puller) record(ctx context.Context, name string, target *types.Descriptor, labels map[string]string, merge bool) error {
	img := &imagesapi.Image{Name: name, Target: target, Labels: labels}
	_, err := p.Images.Create(ctx, img)
	if !errdefs.IsAlreadyExists(err) {
		return err
	}
	paths := []string{"target"}
	switch {
	case merge:
		for k := range labels {
			paths = append(paths, "labels."+k)
		}
	case len(labels) > 0:
		paths = append(paths, "labels")
	}
	_, err = p.Images.Update(ctx, img, paths)
	return err
}

// ParsePlatform parses os/arch[/variant]; empty means the node's.
func ParsePlatform(s string) (v1.Platform, error) {
	if s == "" {
		return v1.Platform{OS: "linux", Architecture: runtime.GOARCH}, nil
	}
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return v1.Platform{}, fmt.Errorf("platform %q must be os/arch[/variant]: %w", s, errdefs.ErrInvalidArgument)
	}
	pl := v1.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		pl.Variant = parts[2]
	}
	return pl, nil
}

// resolve finds the image on the first endpoint that has it.
func (p *Puller) resolve(ctx context.Context, ref string, plat v1.Platform, opts Options) (*source, error) {
	parsed, host, recordName, err := Normalize(ref)
	if err != nil {
		return nil, err
	}
	src := &source{name: recordName, repo: host + "/" + parsed.Context().RepositoryStr(), digested: sep(parsed) == "@"}
	dir := p.ConfigDir
	if opts.ConfigDir != "" {
		dir = opts.ConfigDir
	}
	eps, err := registry.Endpoints(dir, host)
	if err != nil {
		return nil, err
	}
	if opts.PlainHTTP {
		eps = registry.PlainHTTP(eps, host)
	}
	auth, err := p.credentials(host, opts.RegistryAuth)
	if err != nil {
		return nil, err
	}
	if opts.Auth != nil {
		auth = opts.Auth(host)
	}
	var lastErr error
	for _, ep := range eps {
		var nopts []name.Option
		if ep.PlainHTTP {
			ep.PlainHTTP = true
			nopts = append(nopts, name.Insecure)
		}
		r, err := name.ParseReference(ep.Host+"/"+parsed.Context().RepositoryStr()+sep(parsed)+parsed.Identifier(), nopts...)
		if err != nil {
			return nil, fmt.Errorf("reference %q: %v: %w", ref, err, errdefs.ErrInvalidArgument)
		}
		ropts := []remote.Option{remote.WithContext(ctx), remote.WithAuth(auth),
			remote.WithPlatform(plat), remote.WithTransport(p.transport(ep))}
		desc, err := remote.Get(r, ropts...)
		if err != nil {
			lastErr = classify(ref, err)
			continue
		}
		if src.indexes, desc, err = descend(ref, r.Context(), desc, plat, ropts); err != nil {
			return nil, err
		}
		if src.img, err = desc.Image(); err != nil {
			return nil, classify(ref, err)
		}
		src.blobs = &rangeFetcher{repo: r.Context(), auth: auth, rt: p.transport(ep)}
		return src, nil
	}
	return nil, lastErr
}

// credentials are those given with the request, else the auth file's.
func (p *Puller) credentials(host string, given *imagesv1.RegistryAuth) (authn.Authenticator, error) {
	if given != nil {
		a, err := registry.Given{Username: given.Username, Password: given.Password, Auth: given.Auth,
			IdentityToken: given.IdentityToken, RegistryToken: given.RegistryToken}.Authenticator()
		if err != nil || a != nil {
			return a, err
		}
	}
	return registry.Credentials(p.AuthFile, host), nil
}

// Normalize parses a reference the way containerd names images:
// docker.io/library and :latest are implied, and Docker Hub is docker.io.
// It returns the parsed reference, its registry host and the image name.
func Normalize(ref string) (name.Reference, string, string, error) {
	parsed, err := name.ParseReference(ref)
	if err != nil {
		return nil, "", "", fmt.Errorf("reference %q: %v: %w", ref, err, errdefs.ErrInvalidArgument)
	}
	host := parsed.Context().RegistryStr()
	if host == name.DefaultRegistry {
		host = "docker.io"
	}
	return parsed, host, host + "/" + parsed.Context().RepositoryStr() + sep(parsed) + parsed.Identifier(), nil
}

func sep(r name.Reference) string {
	if _, ok := r.(name.Digest); ok {
		return "@"
	}
	return ":"
}

// transport is how a pull talks to an endpoint: with its TLS settings,
// failing requests to a registry that stops sending.
func (p *Puller) transport(ep registry.Endpoint) http.RoundTripper {
	t := remote.DefaultTransport.(*http.Transport).Clone()
	if ep.SkipVerify {
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the operator asked for it in hosts.toml
	}
	timeout := p.ProgressTimeout
	if timeout == 0 {
		timeout = DefaultProgressTimeout
	}
	return withProgressDeadline(t, timeout)
}

// classify maps registry errors to errdefs.
func classify(ref string, err error) error {
	var terr *transport.Error
	if e, ok := err.(*transport.Error); ok {
		terr = e
	}
	switch {
	case terr != nil && terr.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%s: %v: %w", ref, err, errdefs.ErrNotFound)
	case terr != nil && (terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden):
		return fmt.Errorf("%s: %v: %w", ref, err, errdefs.ErrPermissionDenied)
	case strings.Contains(err.Error(), "no such host"), strings.Contains(err.Error(), "connection refused"):
		return fmt.Errorf("%s: %v: %w", ref, err, errdefs.ErrUnavailable)
	case strings.Contains(err.Error(), "digest"):
		return fmt.Errorf("%s: %v: %w", ref, err, errdefs.ErrDataLoss)
	}
	return fmt.Errorf("%s: %w", ref, err)
}

func randomID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// write stores r (whose digest and size are known) in the content store.
func (p *Puller) write(ctx context.Context, dgst string, size int64, r io.Reader, lbls map[string]string) error {
	return p.writeFrom(ctx, dgst, size, func(int64) (io.ReadCloser, int64, error) { return io.NopCloser(r), 0, nil }, lbls)
}

// opener returns the blob from offset on (or from an earlier offset, which
// it returns, when it cannot seek).
type opener func(offset int64) (io.ReadCloser, int64, error)

// writeFrom stores a blob with lbls (added when the blob was already
// there), resuming an ingest an interrupted pull left.
func (p *Puller) writeFrom(ctx context.Context, dgst string, size int64, open opener, lbls map[string]string) error {
	if err := p.holdContent(ctx, dgst); err != nil {
		return err
	}
	if info, err := p.Content.Info(ctx, dgst); err == nil {
		return p.ensureLabels(ctx, info, lbls)
	}
	w, err := p.Content.Writer(ctx, "pull-"+dgst, size, dgst)
	for errdefs.IsUnavailable(err) {
		// Another pull (the kubelet pulls for several pods at once) is
		// writing this blob: wait for it to land, or take over once that
		// pull gives up.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if info, err := p.Content.Info(ctx, dgst); err == nil {
			return p.ensureLabels(ctx, info, lbls)
		}
		w, err = p.Content.Writer(ctx, "pull-"+dgst, size, dgst)
	}
	if err != nil {
		return err
	}
	defer w.Close()
	have := w.Status().Offset
	if have == size {
		// Interrupted between the last byte and the commit.
		if err := w.Commit(ctx, size, dgst, lbls); err == nil {
			return nil
		} else if errdefs.IsAlreadyExists(err) {
			return p.setLabels(ctx, dgst, lbls)
		}
	}
	if have >= size {
		if err := w.Truncate(0); err != nil {
			return err
		}
		have = 0
	}
	rc, from, err := open(have)
	if err != nil {
		return err
	}
	defer rc.Close()
	if from != have {
		if err := w.Truncate(0); err != nil {
			return err
		}
	}
	// Through the writer's ReadFrom: read where it writes from.
	if _, err := w.ReadFrom(rc); err != nil {
		return fmt.Errorf("download %s: %w", dgst, err)
	}
	if err := w.Commit(ctx, size, dgst, lbls); errdefs.IsAlreadyExists(err) {
		return p.setLabels(ctx, dgst, lbls)
	} else if err != nil {
		return err
	}
	return nil
}

// ensureLabels adds those of lbls a blob found in the store lacks: one
// write when the blob is another pull's and none when it has them all.
func (p *Puller) ensureLabels(ctx context.Context, info *contentapi.Info, lbls map[string]string) error {
	for k, v := range lbls {
		if info.Labels[k] != v {
			return p.setLabels(ctx, info.Digest, lbls)
		}
	}
	return nil
}
