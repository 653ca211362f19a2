package pull

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	contentapi "github.com/containerd/containerd/api/services/content/v1"
	"github.com/containerd/containerd/api/types"
	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/go-digest"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"berth.dev/pkg/log"
	imagesv1 "berth.dev/proto/berth/images/v1"
)

const defaultConcurrency = 5

// fetchAndUnpack downloads the image's blobs and unpacks its layers, and
// returns the descriptor the image record points at.
func (p *Puller) fetchAndUnpack(ctx context.Context, src *source, req *imagesv1.PullRequest, prog *progress) (*types.Descriptor, error) {
	img := src.img
	manifest, err := img.RawManifest()
	if err != nil {
		return nil, err
	}
	mediaType, _ := img.MediaType()
	mdgst, _ := img.Digest()
	cfgRaw, err := img.RawConfigFile()
	if err != nil {
		return nil, err
	}
	cfgName, _ := img.ConfigName()
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image config: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	if len(layers) != len(cfg.RootFS.DiffIDs) {
		return nil, fmt.Errorf("image has %d layers but %d diff ids: %w", len(layers), len(cfg.RootFS.DiffIDs), errdefs.ErrInvalidArgument)
	}
	descs := make([]*types.Descriptor, len(layers))
	prog.mu.Lock()
	for i, l := range layers {
		d, _ := l.Digest()
		size, _ := l.Size()
		mt, _ := l.MediaType()
		descs[i] = &types.Descriptor{MediaType: string(mt), Digest: d.String(), Size: size}
		prog.layers = append(prog.layers, &imagesv1.LayerProgress{Digest: d.String(), Size: size, State: stateWaiting})
	}
	prog.p.Status = "downloading"
	prog.mu.Unlock()
	if err := p.write(ctx, cfgName.String(), int64(len(cfgRaw)), bytes.NewReader(cfgRaw), nil); err != nil {
		return nil, err
	}

	limit := int(req.MaxConcurrentDownloads)
	if limit <= 0 {
		limit = p.MaxConcurrent
	}
	if limit <= 0 {
		limit = defaultConcurrency
	}
	sem := make(chan struct{}, limit)
	downloaded := make([]chan struct{}, len(layers))
	// On overlayfs a layer downloading afresh is also streamed to snapshotd
	// and applied as it arrives (feeds); the apply is kept only once the
	// download committed under its verified digest.
	var feeds []chan *os.File
	if !req.SkipUnpack && snapshotter(req.Snapshotter) == "overlayfs" {
		feeds = make([]chan *os.File, len(layers))
		for i := range feeds {
			feeds[i] = make(chan *os.File, 1)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	for i, l := range layers {
		downloaded[i] = make(chan struct{})
		var feed chan *os.File
		if feeds != nil {
			feed = feeds[i]
		}
		g.Go(func() error {
			select {
			case sem <- struct{}{}:
			case <-gctx.Done():
				return gctx.Err()
			}
			defer func() { <-sem }()
			if err := p.download(gctx, src.blobs, l, descs[i], prog, i, feed); err != nil {
				return err
			}
			close(downloaded[i])
			return nil
		})
	}
	var top string
	if !req.SkipUnpack {
		g.Go(func() (err error) {
			top, err = p.unpack(gctx, snapshotter(req.Snapshotter), descs, cfg.RootFS.DiffIDs, downloaded, feeds, prog)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return p.label(ctx, src, manifest, string(mediaType), mdgst, cfgName, descs, cfg.RootFS.DiffIDs, snapshotter(req.Snapshotter), top)
}

func snapshotter(s string) string {
	if s == "" {
		return "overlayfs"
	}
	return s
}

// download writes a layer into the content store. With a feed, a download
// from the first byte is also streamed into a pipe whose reading end goes
// to the feed; the feed is closed when the download ends, empty when
// nothing was streamed.
func (p *Puller) download(ctx context.Context, blobs *rangeFetcher, l v1.Layer, d *types.Descriptor, prog *progress, i int, feed chan<- *os.File) error {
	if feed != nil {
		defer close(feed)
	}
	if err := p.holdContent(ctx, d.Digest); err != nil {
		return err
	}
	if _, err := p.Content.Info(ctx, d.Digest); err == nil {
		prog.layer(i, stateExists)
		prog.add(i, d.Size)
		return nil
	}
	prog.layer(i, stateDownloading)
	open := func(offset int64) (io.ReadCloser, int64, error) {
		var rc io.ReadCloser
		var from int64
		var err error
		if blobs != nil {
			rc, from, err = blobs.fetch(ctx, d.Digest, offset, d.Size)
		} else {
			rc, err = l.Compressed()
		}
		if err != nil {
			return nil, 0, classify(d.Digest, err)
		}
		prog.add(i, from)
		// Never more than the descriptor's size: the digest check at the
		// commit catches a short or wrong blob, this a registry that
		// would not stop.
		var body io.Reader = &counter{r: io.LimitReader(filler{rc}, d.Size-from), p: prog, i: i}
		var closer io.Closer = rc
		if feed != nil && from == 0 {
			if t, err := newTee(ctx, body, rc); err == nil {
				feed <- t.pr
				feed = nil
				body, closer = t, t
			}
		}
		return struct {
			io.Reader
			io.Closer
		}{body, closer}, from, nil
	}
	if err := p.writeFrom(ctx, d.Digest, d.Size, open, nil); err != nil {
		return err
	}
	prog.layer(i, stateDownloaded)
	return nil
}

// chainIDs returns each layer's chain id (the name of the snapshot holding
// it and every layer below).
func chainIDs(diffIDs []v1.Hash) []string {
	out := make([]string, len(diffIDs))
	for i, d := range diffIDs {
		out[i] = d.String()
		if i > 0 {
			out[i] = digest.FromString(out[i-1] + " " + out[i]).String()
		}
	}
	return out
}

// unpack turns the layers into committed snapshots and returns the top
// chain id. On overlayfs each layer is applied into a snapshot of its own,
// several at once (streamed while it downloads when it has a feed, else
// from the content store once downloaded), and committed onto the layer
// below once that one is and its own download is verified; one sync of
// the filesystem then covers them all. Elsewhere layers are applied in
// order on their parents.
func (p *Puller) unpack(ctx context.Context, sn string, descs []*types.Descriptor, diffIDs []v1.Hash, downloaded []chan struct{}, feeds []chan *os.File, prog *progress) (string, error) {
	chains := chainIDs(diffIDs)
	parallel := sn == "overlayfs"
	type applied struct {
		key    string // empty when the snapshot already existed
		err    error
		ready  chan struct{}
		parent string
	}
	results := make([]*applied, len(descs))
	for i := range results {
		results[i] = &applied{ready: make(chan struct{})}
	}
	sem := make(chan struct{}, unpackConcurrency)
	wait := func(c <-chan struct{}) error {
		select {
		case <-c:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	apply := func(i int, parent string) {
		r := results[i]
		defer close(r.ready)
		var stream *os.File
		defer func() {
			if stream != nil {
				stream.Close()
			}
		}()
		// take receives the layer's stream (nil when the download streams
		// nothing) and, for a layer read from the content store instead,
		// waits for its download and a turn among unpackConcurrency (a
		// streamed apply is paced by its download instead).
		taken, turn := false, false
		defer func() {
			if turn {
				<-sem
			}
		}()
		take := func() error {
			taken = true
			if feeds != nil {
				select {
				case stream = <-feeds[i]:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			if stream != nil {
				return nil
			}
			if err := wait(downloaded[i]); err != nil {
				return err
			}
			sem <- struct{}{}
			turn = true
			return nil
		}
		// Layers in order on their parents are taken first. A layer in a
		// snapshot of its own is looked up and prepared before its stream
		// is taken: those are round trips with synced writes, and the
		// download stalls on a full pipe while nobody reads it.
		if feeds == nil {
			if r.err = take(); r.err != nil {
				return
			}
		}
		if r.err = p.holdSnapshot(ctx, sn, chains[i]); r.err != nil {
			return
		}
		if _, err := p.Snapshots.Stat(ctx, sn, chains[i]); err == nil {
			// Another pull unpacked the layer. Drop the stream first: a
			// download blocks on a full pipe nobody reads, and this waits
			// for that download.
			if !taken {
				if r.err = take(); r.err != nil {
					return
				}
			}
			if stream != nil {
				stream.Close()
				stream = nil
			}
			prog.layer(i, stateUnpacked)
			r.err = wait(downloaded[i])
			return
		}
		r.key = "extract-" + randomID() + " " + chains[i]
		// Prepared to the end even when the pull gives up meanwhile: a
		// call cancelled in flight may still create the snapshot, which
		// would then be left behind unknown.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), discardTimeout)
		mounts, err := p.Snapshots.Prepare(pctx, sn, r.key, parent)
		cancel()
		if err != nil {
			r.key, r.err = "", fmt.Errorf("prepare %s: %w", chains[i], err)
			return
		}
		if !taken {
			// On failure the prepared snapshot is removed with the others.
			if r.err = take(); r.err != nil {
				return
			}
		}
		prog.layer(i, stateUnpacking)
		// Parallel applies skip their own sync: one sync follows them all.
		syncFS := !parallel && i == len(descs)-1
		var out *types.Descriptor
		if stream != nil {
			out, err = p.Snapshots.ApplyStream(ctx, descs[i], mounts, stream, syncFS, parallel)
			stream = nil
			if err == nil {
				// What was applied counts only once its bytes are verified.
				err = wait(downloaded[i])
			}
		} else {
			out, err = p.Snapshots.Apply(ctx, descs[i], mounts, syncFS, parallel)
		}
		if err == nil && out.Digest != diffIDs[i].String() {
			err = fmt.Errorf("layer %s unpacks to %s, the image says %s: %w", descs[i].Digest, out.Digest, diffIDs[i], errdefs.ErrDataLoss)
		}
		r.err = err
	}
	if parallel {
		for j := range descs {
			go apply(j, "")
		}
	}
	parent := ""
	var firstErr error
	committed := false
	for i := range descs {
		if !parallel {
			apply(i, parent)
		}
		r := results[i]
		<-r.ready
		if r.err == nil && firstErr == nil && r.key != "" {
			r.err = p.Snapshots.Commit(ctx, sn, chains[i], r.key, parent)
			if errdefs.IsAlreadyExists(r.err) {
				// A concurrent pull of an image sharing the layer committed
				// it first; ours is dropped.
				p.discard(ctx, sn, r.key)
				r.key, r.err = "", nil
			}
			committed = committed || r.err == nil
		}
		if r.err != nil && firstErr == nil {
			firstErr = fmt.Errorf("unpack layer %s: %w", descs[i].Digest, r.err)
		}
		if r.err != nil || firstErr != nil {
			if r.key != "" {
				p.discard(ctx, sn, r.key)
			}
			continue
		}
		prog.layer(i, stateUnpacked)
		parent = chains[i]
	}
	if firstErr != nil {
		return "", firstErr
	}
	if parallel && committed {
		// The image must be durable before it is recorded.
		if err := p.Snapshots.SyncFilesystem(ctx); err != nil {
			return "", fmt.Errorf("sync unpacked layers: %w", err)
		}
	}
	return parent, nil
}

// discard removes a snapshot the pull prepared and will not commit. It
// runs even when the pull's context has ended (the failure that ended it
// is usually why), and waits out snapshotd's refusal while an apply still
// writes into the snapshot: an apply fed a stream can outlive a caller
// that gave up on it.
func (p *Puller) discard(ctx context.Context, sn, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), discardTimeout)
	defer cancel()
	for {
		err := p.Snapshots.Remove(ctx, sn, key)
		if !errdefs.IsFailedPrecondition(err) {
			if err != nil && !errdefs.IsNotFound(err) {
				log.G(ctx).Warn("remove a snapshot of a failed unpack", zap.String("key", key), zap.Error(err))
			}
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// discardTimeout bounds the cleanup of a failed unpack; what it leaves,
// the pull's lease no longer holds once the pull ends, and the collector
// removes.
const discardTimeout = 30 * time.Second

// unpackConcurrency bounds parallel layer applies; applying is CPU-bound
// (decompressing, hashing, writing), so more than two per core only adds
// contention.
const unpackConcurrency = 3

// label writes the manifest and index and the labels that keep the image's
// content and snapshots from garbage collection.
func (p *Puller) label(ctx context.Context, src *source, manifest []byte, mediaType string, mdgst, cfg v1.Hash,
	descs []*types.Descriptor, diffIDs []v1.Hash, sn, top string) (*types.Descriptor, error) {
	for i, d := range descs {
		if err := p.setLabels(ctx, d.Digest, map[string]string{"containerd.io/uncompressed": diffIDs[i].String()}); err != nil {
			return nil, err
		}
	}
	if top != "" {
		if err := p.setLabels(ctx, cfg.String(), map[string]string{"containerd.io/gc.ref.snapshot." + sn: top}); err != nil {
			return nil, err
		}
	}
	mlabels := map[string]string{"containerd.io/gc.ref.content.config": cfg.String()}
	for i, d := range descs {
		mlabels["containerd.io/gc.ref.content.l."+strconv.Itoa(i)] = d.Digest
	}
	if err := p.write(ctx, mdgst.String(), int64(len(manifest)), bytes.NewReader(manifest), mlabels); err != nil {
		return nil, err
	}
	if err := p.setLabels(ctx, mdgst.String(), mlabels); err != nil {
		return nil, err
	}
	target := &types.Descriptor{MediaType: mediaType, Digest: mdgst.String(), Size: int64(len(manifest))}
	// Each index holds the entry the pull followed, innermost first.
	for i := len(src.indexes) - 1; i >= 0; i-- {
		lv := src.indexes[i]
		ilabels := map[string]string{}
		for j, m := range lv.m.Manifests {
			if m.Digest == lv.child {
				ilabels["containerd.io/gc.ref.content.m."+strconv.Itoa(j)] = m.Digest.String()
			}
		}
		d := lv.dsc
		if err := p.write(ctx, d.Digest.String(), d.Size, bytes.NewReader(lv.raw), ilabels); err != nil {
			return nil, err
		}
		if err := p.setLabels(ctx, d.Digest.String(), ilabels); err != nil {
			return nil, err
		}
		target = &types.Descriptor{MediaType: string(d.MediaType), Digest: d.Digest.String(), Size: d.Size}
	}
	return target, nil
}

func (p *Puller) setLabels(ctx context.Context, dgst string, lbls map[string]string) error {
	var paths []string
	for k := range lbls {
		paths = append(paths, "labels."+k)
	}
	_, err := p.Content.Update(ctx, &contentapi.Info{Digest: dgst, Labels: lbls}, paths)
	return err
}
