//go:build chaos

package chaos

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
)

// stallLimit is how long a pull from a stalled registry may take before
// the run says it never gives up: well past any sane progress deadline.
const stallLimit = 45 * time.Second

// progressTimeout is the progress deadline the run gives imaged's pulls
// (the default, containerd's five minutes, is past stallLimit).
const progressTimeout = 10 * time.Second

// fillContent fills the content store's filesystem while the load runs: a
// pull must fail with ResourceExhausted, leave no partial blob visible, and
// work again once space is freed.
func (r *run) fillContent() bool {
	ref, layer := r.pushFresh(4 << 20)
	ns := r.namespaces[r.rng.Intn(len(r.namespaces))]
	filler := filepath.Join(contentDir(r.st), "filler")
	if err := fill(filler); err != nil {
		r.t.Logf("filling %s: %v", filler, err)
		os.Remove(filler)
		return false
	}
	ctx, cancel := r.ctx(ns, time.Minute)
	err := r.serverPull(ctx, ns, ref)
	cancel()
	if !errdefs.IsResourceExhausted(err) {
		r.stats.violate("full-disk-error", r.phase(), "pull of %s onto a full content store: %v (want ResourceExhausted)", ref, err)
	}
	if _, err := os.Stat(filepath.Join(contentDir(r.st), "blobs", "sha256", strings.TrimPrefix(layer, "sha256:"))); err == nil {
		r.stats.violate("full-disk-partial", r.phase(), "layer %s is in the blob store after a pull that ran out of space", layer)
	}
	ctx, cancel = r.ctx(ns, 10*time.Second)
	if _, err := r.client.ContentStore().Info(ctx, digest.Digest(layer)); !errdefs.IsNotFound(err) {
		r.stats.violate("full-disk-partial", r.phase(), "layer %s is listed after a pull that ran out of space (%v)", layer, err)
	}
	cancel()
	os.Remove(filler)
	r.pullAgain(ns, ref, "after space was freed")
	return true
}

// fill writes path until the filesystem is full.
func fill(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return err
			}
			return nil // ENOSPC: full
		}
	}
}

// registryFault arms the proxy to reset or stall a fresh layer mid-blob and
// pulls it: the pull must end by itself with an error (or succeed by
// retrying), and a second pull must resume the interrupted download.
func (r *run) registryFault(mode string) bool {
	ref, layer := r.pushFresh(6 << 20)
	ns := r.namespaces[r.rng.Intn(len(r.namespaces))]
	r.proxy.arm(layer, mode)
	timedOut, err := r.pullWithin(ns, ref, stallLimit)
	hit, _ := r.proxy.played(layer)
	if !hit {
		r.proxy.arm(layer, "")
		return false
	}
	switch {
	case timedOut:
		r.stats.violate("pull-no-progress-deadline", r.phase(), "a pull of %s whose registry %ss mid-blob was still running after %s", ref, mode, stallLimit)
	case err != nil:
		r.t.Logf("registry %s: the pull gave up with: %v", mode, err)
	}
	r.pullAgain(ns, ref, "after a registry "+mode)
	if _, resumed := r.proxy.played(layer); err != nil && !resumed {
		r.stats.violate("pull-not-resumed", r.phase(), "the pull of %s after a registry %s downloaded layer %s from the start", ref, mode, layer)
	}
	return true
}

// pullAgain pulls ref, which must work now, then deletes it so that the
// content store does not fill up with the faults' images.
func (r *run) pullAgain(ns, ref, when string) {
	ctx, cancel := r.ctx(ns, time.Minute)
	defer cancel()
	if err := r.serverPull(ctx, ns, ref); err != nil {
		kind := "pull-retry-failed"
		if errdefs.IsNotFound(err) && strings.Contains(err.Error(), "snapshot") {
			// The snapshot the pull prepared under its lease was collected.
			kind = "gc-removed-leased"
		}
		r.stats.violate(kind, r.phase(), "pull of %s %s: %v", ref, when, err)
	}
	name := strings.TrimPrefix(ref, "http://")
	if err := r.client.ImageService().Delete(namespaces.WithNamespace(ctx, ns), name, images.SynchronousDelete()); err != nil && !errdefs.IsNotFound(err) {
		r.t.Logf("delete %s: %v", name, err)
	}
}

// pullWithin pulls ref and gives up after limit. The limit is the caller's
// alone, not a deadline the server would see: a DeadlineExceeded coming
// back is then the server's own.
func (r *run) pullWithin(ns, ref string, limit time.Duration) (timedOut bool, err error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var expired atomic.Bool
	timer := time.AfterFunc(limit, func() { expired.Store(true); cancel() })
	defer timer.Stop()
	err = r.serverPull(ctx, ns, ref)
	return expired.Load(), err
}
