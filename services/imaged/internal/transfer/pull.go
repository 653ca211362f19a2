package transfer

import (
	"context"
	"fmt"
	"strings"

	"github.com/containerd/containerd/api/types"
	transfertypes "github.com/containerd/containerd/api/types/transfer"
	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/authn"

	imagesv1 "berth.dev/proto/berth/images/v1"
	"berth.dev/services/imaged/internal/pull"
)

// pull is a registry into the image store: imaged's server-side pull,
// its progress told as containerd's transfer service tells a pull.
func (s *Service) pull(ctx context.Context, reg *transfertypes.OCIRegistry, dst *transfertypes.ImageStore, pr *progress) error {
	if reg.Reference == "" {
		return fmt.Errorf("pull needs a registry reference: %w", errdefs.ErrInvalidArgument)
	}
	from := fmt.Sprintf("OCI Registry (%s)", reg.Reference)
	req := &imagesv1.PullRequest{Ref: reg.Reference, Platform: unpackPlatform(dst)}
	if len(dst.Unpacks) == 0 {
		req.SkipUnpack = true
	} else {
		req.Snapshotter = dst.Unpacks[0].Snapshotter
	}
	opts, err := s.registryOptions(ctx, reg)
	if err != nil {
		return err
	}
	opts.Names = storeNames(dst)
	opts.Labels = dst.Labels
	var root string
	var target *types.Descriptor
	opts.Resolved = func(name string, t *types.Descriptor) {
		root, target = reg.Reference, t
		pr.event("Pulling from " + from)
		pr.send(&transfertypes.Progress{Event: "fetching image content", Name: root, Desc: t})
	}
	pr.event("Resolving from " + from)
	layers := &layerEvents{pr: pr, sent: map[string]*transfertypes.Progress{}}
	err = s.Puller.PullWith(ctx, req, opts, func(p *imagesv1.PullProgress) error {
		layers.report(root, p)
		return nil
	})
	if err != nil {
		return err
	}
	names := opts.Names
	if len(names) == 0 {
		_, _, n, _ := pull.Normalize(reg.Reference)
		names = []string{n}
	}
	for _, n := range names {
		pr.send(&transfertypes.Progress{Event: "saved", Name: n, Desc: target})
	}
	pr.event("Completed pull from " + from)
	return nil
}

// unpackPlatform is the platform a pull or an import chooses from an
// index: the first one unpacked, else the first one asked for, else the
// node's (empty).
func unpackPlatform(dst *transfertypes.ImageStore) string {
	var p *types.Platform
	if len(dst.Unpacks) > 0 && dst.Unpacks[0].Platform != nil {
		p = dst.Unpacks[0].Platform
	} else if len(dst.Platforms) > 0 {
		p = dst.Platforms[0]
	}
	if p == nil || p.OS == "" || p.Architecture == "" {
		return ""
	}
	return strings.TrimSuffix(p.OS+"/"+p.Architecture+"/"+p.Variant, "/")
}

// storeNames are the names an image store destination records, besides
// prefixes (which only an import fills in).
func storeNames(dst *transfertypes.ImageStore) []string {
	var out []string
	if dst.Name != "" {
		out = append(out, dst.Name)
	}
	for _, r := range dst.ExtraReferences {
		if !r.IsPrefix {
			out = append(out, r.Name)
		}
	}
	return out
}

// registryOptions turns the client's resolver settings into a pull's:
// its hosts directory (else the daemon's), http for the registry itself,
// credentials asked of the client over its auth stream.
func (s *Service) registryOptions(ctx context.Context, reg *transfertypes.OCIRegistry) (pull.Options, error) {
	var opts pull.Options
	res := reg.Resolver
	if res == nil {
		return opts, nil
	}
	opts.ConfigDir = res.HostDir
	switch res.DefaultScheme {
	case "", "https":
	case "http":
		opts.PlainHTTP = true
	default:
		return opts, fmt.Errorf("registry scheme %q is neither http nor https: %w", res.DefaultScheme, errdefs.ErrInvalidArgument)
	}
	if res.AuthStream != "" {
		st, err := s.Streams.Get(ctx, res.AuthStream)
		if err != nil {
			return opts, fmt.Errorf("credentials stream: %w", err)
		}
		cb := &callback{ctx: ctx, s: st}
		opts.Auth = func(host string) authn.Authenticator { return cb.forHost(reg.Reference, host) }
	}
	return opts, nil
}

// layerEvents turns a pull's progress snapshots into the per-layer events
// containerd's progress tracker sends, each only when it changed.
type layerEvents struct {
	pr   *progress
	sent map[string]*transfertypes.Progress
}

var layerEvent = map[string]string{
	"waiting":     "waiting",
	"downloading": "downloading",
	"downloaded":  "complete",
	"exists":      "already exists",
	"unpacking":   "extracting",
	"unpacked":    "extracted",
}

func (l *layerEvents) report(root string, p *imagesv1.PullProgress) {
	for _, lp := range p.Layers {
		ev, ok := layerEvent[lp.State]
		if !ok {
			continue
		}
		desc := &types.Descriptor{Digest: lp.Digest, Size: lp.Size}
		m := &transfertypes.Progress{Event: ev, Name: "layer-" + lp.Digest, Progress: lp.Offset, Total: lp.Size, Desc: desc}
		if root != "" {
			m.Parents = []string{root}
		}
		switch ev {
		case "complete", "already exists", "extracted":
			m.Progress = lp.Size
		case "extracting", "waiting":
			m.Progress = 0
		}
		if last := l.sent[m.Name]; last != nil && last.Event == m.Event && last.Progress == m.Progress {
			continue
		}
		l.sent[m.Name] = m
		l.pr.send(m)
	}
}
