package pull

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
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
	"berth.dev/pkg/snapshotdclient"
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
	prog.config = cfgName.String()
	prog.mu.Unlock()

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
	chains := chainIDs(cfg.RootFS.DiffIDs)
	keys := make([]string, len(chains))
	for i, c := range chains {
		keys[i] = "extract-" + randomID() + " " + c
	}
	if err := p.holdAll(ctx, src.digests(mdgst, cfgName, descs), snapshotter(req.Snapshotter), append(slices.Clone(chains), keys...)); err != nil {
		return nil, err
	}
	g, gctx := errgroup.WithContext(ctx)
	// The config, manifest and indexes are written with the labels that
	// keep the image's content and snapshots from collection while the
	// layers download: the pull's lease holds it all until the image
	// record exists, so the order of these writes matters to nobody, and
	// their synced writes overlap the download instead of following it.
	cfgLabels := map[string]string{}
	if !req.SkipUnpack && len(chains) > 0 {
		// The snapshot the unpack commits last, named before it exists: a
		// failed unpack leaves a label naming nothing, which the collector
		// passes over and the next pull's unpack fills.
		cfgLabels["containerd.io/gc.ref.snapshot."+snapshotter(req.Snapshotter)] = chains[len(chains)-1]
	}
	g.Go(func() error {
		return p.write(gctx, cfgName.String(), int64(len(cfgRaw)), bytes.NewReader(cfgRaw), cfgLabels)
	})
	var target *types.Descriptor
	g.Go(func() (err error) {
		target, err = p.writeManifests(gctx, src, manifest, string(mediaType), mdgst, cfgName, descs)
		return err
	})
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
			lbls := map[string]string{"containerd.io/uncompressed": cfg.RootFS.DiffIDs[i].String()}
			if err := p.download(gctx, src.blobs, l, descs[i], lbls, prog, i, feed); err != nil {
				return err
			}
			close(downloaded[i])
			return nil
		})
	}
	if !req.SkipUnpack {
		g.Go(func() error {
			return p.unpack(gctx, snapshotter(req.Snapshotter), descs, cfg.RootFS.DiffIDs, chains, keys, downloaded, feeds, prog)
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return target, nil
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
func (p *Puller) download(ctx context.Context, blobs *rangeFetcher, l v1.Layer, d *types.Descriptor, lbls map[string]string, prog *progress, i int, feed chan<- *os.File) error {
	if feed != nil {
		defer close(feed)
	}
	if err := p.holdContent(ctx, d.Digest); err != nil {
		return err
	}
	if info, err := p.Content.Info(ctx, d.Digest); err == nil {
		prog.layer(i, stateExists)
		prog.add(i, d.Size)
		return p.ensureLabels(ctx, info, lbls)
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
	if err := p.writeFrom(ctx, d.Digest, d.Size, open, lbls); err != nil {
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

// unpack turns the layers into committed snapshots named by chains (the
// last holds the whole image), each prepared under its key. On overlayfs each layer is applied into a
// snapshot of its own, several at once (streamed while it downloads when
// it has a feed, else from the content store once downloaded), and
// committed onto the layer below once that one is and its own download is
// verified; a small layer streamed in is fsynced file by file as it is
// applied, and one sync of the filesystem then covers the others.
// Elsewhere layers are applied in order on their parents.
func (p *Puller) unpack(ctx context.Context, sn string, descs []*types.Descriptor, diffIDs []v1.Hash, chains, keys []string, downloaded []chan struct{}, feeds []chan *os.File, prog *progress) error {
	parallel := sn == "overlayfs"
	type applied struct {
		key    string // empty when the snapshot already existed
		synced bool   // the apply made the layer durable itself
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
		r.key = keys[i]
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
		// Parallel applies skip a sync of the filesystem of their own: a
		// small streamed layer is fsynced as it is applied, and one sync
		// follows the others.
		syncFS := !parallel && i == len(descs)-1
		var out *types.Descriptor
		if stream != nil {
			out, r.synced, err = p.Snapshots.ApplyStream(ctx, descs[i], mounts, stream, snapshotdclient.SyncFew, parallel)
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
	// unsynced: a layer this pull committed is not on disk yet; found: a
	// layer's snapshot was there already, committed by another pull or a
	// client's unpack that may not have synced it yet.
	unsynced, found, committed := false, false, false
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
			mine := r.err == nil && r.key != ""
			committed = committed || mine
			unsynced = unsynced || (mine && !r.synced)
		}
		found = found || (r.err == nil && r.key == "")
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
		return firstErr
	}
	// The image must be durable before it is recorded. A pull that
	// committed a layer also syncs those it found, as it always did: it
	// cannot tell whether their writer synced them yet. One that found
	// them all leaves them to their writers.
	if parallel && (unsynced || (committed && found)) {
		if err := p.Snapshots.SyncFilesystem(ctx); err != nil {
			return fmt.Errorf("sync unpacked layers: %w", err)
		}
	}
	return nil
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

// writeManifests writes the manifest and the indexes above it, each with
// the labels that lead the collector from it to what it names, and
// returns the descriptor the image record points at.
func (p *Puller) writeManifests(ctx context.Context, src *source, manifest []byte, mediaType string, mdgst, cfg v1.Hash,
	descs []*types.Descriptor) (*types.Descriptor, error) {
	mlabels := map[string]string{"containerd.io/gc.ref.content.config": cfg.String()}
	for i, d := range descs {
		mlabels["containerd.io/gc.ref.content.l."+strconv.Itoa(i)] = d.Digest
	}
	if err := p.write(ctx, mdgst.String(), int64(len(manifest)), bytes.NewReader(manifest), mlabels); err != nil {
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
		target = &types.Descriptor{MediaType: string(d.MediaType), Digest: d.Digest.String(), Size: d.Size}
	}
	return target, nil
}

func (p *Puller) setLabels(ctx context.Context, dgst string, lbls map[string]string) error {
	if len(lbls) == 0 {
		return nil // no paths would replace every label
	}
	var paths []string
	for k := range lbls {
		paths = append(paths, "labels."+k)
	}
	_, err := p.Content.Update(ctx, &contentapi.Info{Digest: dgst, Labels: lbls}, paths)
	return err
}
