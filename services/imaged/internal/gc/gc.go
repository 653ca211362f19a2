package gc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	contentapi "github.com/containerd/containerd/api/services/content/v1"
	imagesapi "github.com/containerd/containerd/api/services/images/v1"
	leasesapi "github.com/containerd/containerd/api/services/leases/v1"
	snapshotsapi "github.com/containerd/containerd/api/services/snapshots/v1"
	"github.com/containerd/errdefs"
	"github.com/dgraph-io/badger/v4"
	"github.com/opencontainers/go-digest"
	"go.uber.org/zap"

	"berth.dev/pkg/log"
	"berth.dev/pkg/namespace"
	"berth.dev/pkg/store"
	"berth.dev/services/imaged/internal/content"
	"berth.dev/services/imaged/internal/image"
	"berth.dev/services/imaged/internal/lease"
)

const (
	rootLabel       = "containerd.io/gc.root"
	contentRefLabel = "containerd.io/gc.ref.content"
	// SnapshotRefLabel prefixes labels naming snapshots (…<snapshotter>).
	SnapshotRefLabel = "containerd.io/gc.ref.snapshot."
	// manifests and indexes above this size are not parsed for children.
	maxParse = 4 << 20
)

// Snapshots removes the snapshots of a namespace that nothing references.
//
// snapshotd owns snapshots and imaged owns leases, so the collector cannot
// hold one lock across both, as containerd's metadata store does. Instead
// a collection follows an order that needs no lock (see collect):
//
//  1. List the namespace's snapshots (List).
//  2. Mark: read leases, images and content in one badger transaction.
//  3. Ask taskd which snapshots containers use (inside Sweep).
//  4. Remove the listed snapshots nothing holds (Sweep).
//
// snapshotd puts a key under the caller's lease (Hold) before it writes
// the snapshot's record, for Prepare and Commit alike. So a snapshot
// present in the listing of step 1 had its hold committed before the mark
// of step 2 began, and the mark sees it unless the lease ended; and a
// snapshot created after step 1 is not in the listing, so step 4 never
// touches it, whatever lease it is under. Containers are asked after the
// mark: a client that prepares a container's snapshot under a lease,
// creates the container and then drops the lease is seen either through
// the lease (dropped after the mark read it) or through the container
// (created before the lease was dropped, so before step 3). Nothing here
// compares clocks.
//
// What remains: a key listed in step 1, removed by its owner and prepared
// again under the same key before step 4 is a different snapshot the mark
// may not have seen; Sweep removes a snapshot only if its creation stamp is
// still the listed one (snapshotd checks it in the same transaction as the
// removal), so the newcomer stays. A snapshot prepared without a lease is
// held by nothing and is collected, as in containerd. A removal snapshotd
// refuses (a layer being applied into it, a child prepared after the
// listing) or that finds the key gone is skipped, not an error: the next
// collection looks again.
type Snapshots interface {
	// List returns ns's snapshots, by snapshotter.
	List(ctx context.Context, ns string) (Listing, error)
	// Sweep removes the listed snapshots of ns that keep does not hold,
	// nor any container, nor the ancestry of what is held.
	Sweep(ctx context.Context, ns string, listed Listing, keep map[string]map[string]bool) error
}

// Listing is a namespace's snapshots by snapshotter, as listed before a
// mark.
type Listing map[string][]*snapshotsapi.Info

// Collector runs collections, one at a time.
type Collector struct {
	DB        *badger.DB
	Content   *content.Store
	Snapshots Snapshots // nil: snapshots are not collected
	// Leases, when set, ends leases whose client has been gone for their
	// grace period before each collection.
	Leases *lease.Store

	mu        sync.Mutex
	pending   chan struct{}
	deletions int
	// seen remembers namespaces that held records, so their snapshots are
	// still swept after their last content went.
	seen map[string]bool
}

// deletionThreshold is how many deletions trigger a background collection.
// Collecting after every deletion would race with clients that create a
// resource and reference it in a second call (ctr snapshots view), so, as
// in containerd, only a sync delete collects at once.
const deletionThreshold = 100

// Deleted counts a deletion, scheduling a collection every
// deletionThreshold of them.
func (c *Collector) Deleted() {
	c.mu.Lock()
	c.deletions++
	due := c.deletions >= deletionThreshold
	if due {
		c.deletions = 0
	}
	c.mu.Unlock()
	if due {
		c.Schedule()
	}
}

// Schedule asks for a collection soon, coalescing requests.
func (c *Collector) Schedule() {
	c.mu.Lock()
	if c.pending == nil {
		c.pending = make(chan struct{}, 1)
	}
	p := c.pending
	c.mu.Unlock()
	select {
	case p <- struct{}{}:
	default:
	}
}

// ScheduleAfter asks for a collection once d has passed (an orphaned
// lease's grace period running out).
func (c *Collector) ScheduleAfter(d time.Duration) {
	time.AfterFunc(d, c.Schedule)
}

// Run performs scheduled collections until ctx ends.
func (c *Collector) Run(ctx context.Context) error {
	c.Schedule()
	c.mu.Lock()
	p := c.pending
	c.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-p:
			// Let a burst of deletions finish first.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(200 * time.Millisecond):
			}
			if err := c.Collect(ctx); err != nil {
				log.G(ctx).Warn("garbage collection failed", zap.Error(err))
			}
		}
	}
}

var collecting sync.Mutex

// Collect runs a full collection over every namespace now.
func (c *Collector) Collect(ctx context.Context) error {
	collecting.Lock()
	defer collecting.Unlock()
	// The namespaces are listed before orphaned leases end: a namespace
	// whose only record was such a lease still has its snapshots swept.
	var nss []string
	err := c.DB.View(func(txn *badger.Txn) error {
		nss = namespaces(txn)
		return nil
	})
	if err != nil {
		return err
	}
	if c.Leases != nil {
		n, err := c.Leases.EndOrphans(time.Now())
		if err != nil {
			return fmt.Errorf("end orphaned leases: %w", err)
		}
		if n > 0 {
			log.G(ctx).Info("ended leases whose client is gone", zap.Int("count", n))
		}
	}
	c.mu.Lock()
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	for _, ns := range nss {
		c.seen[ns] = true
	}
	nss = nss[:0]
	for ns := range c.seen {
		nss = append(nss, ns)
	}
	c.mu.Unlock()
	// A namespace that fails does not keep the others from being
	// collected.
	var errs []error
	for _, ns := range nss {
		if err := c.collect(namespace.WithNamespace(ctx, ns), ns); err != nil {
			errs = append(errs, fmt.Errorf("collect namespace %s: %w", ns, err))
		}
	}
	// Ingests are judged once for every namespace: each one's metadata is
	// read once per collection.
	if n := c.Content.RemoveIngestsOfEndedLeases(c.leaseEnded); n > 0 {
		log.G(ctx).Debug("collected ingests of ended leases", zap.Int("count", n))
	}
	return errors.Join(errs...)
}

// namespaces lists every namespace holding a record in imaged.
func namespaces(txn *badger.Txn) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range []string{"content/", "image/", "lease/"} {
		for _, k := range store.Keys(txn, p) {
			ns, _, _ := strings.Cut(strings.TrimPrefix(k, p), "/")
			if !seen[ns] {
				seen[ns] = true
				out = append(out, ns)
			}
		}
	}
	return out
}

func (c *Collector) collect(ctx context.Context, ns string) error {
	marked := map[digest.Digest]bool{}
	snaps := map[string]map[string]bool{}
	var queue []digest.Digest
	// The snapshots are listed before the mark begins (see Snapshots).
	var listed Listing
	var listErr error
	if c.Snapshots != nil {
		listed, listErr = c.Snapshots.List(ctx, ns)
	}
	infos := map[digest.Digest]*contentapi.Info{}
	err := c.DB.View(func(txn *badger.Txn) error {
		if err := store.Each(txn, content.Prefix(ns), func() *contentapi.Info { return &contentapi.Info{} }, func(_ string, i *contentapi.Info) error {
			infos[digest.Digest(i.Digest)] = i
			if _, ok := i.Labels[rootLabel]; ok {
				queue = append(queue, digest.Digest(i.Digest))
			}
			return nil
		}); err != nil {
			return err
		}
		if err := store.Each(txn, image.Prefix(ns), func() *imagesapi.Image { return &imagesapi.Image{} }, func(_ string, img *imagesapi.Image) error {
			if img.Target != nil {
				queue = append(queue, digest.Digest(img.Target.Digest))
			}
			return nil
		}); err != nil {
			return err
		}
		now := time.Now()
		return store.Each(txn, lease.Prefix(ns), func() *leasesapi.Lease { return &leasesapi.Lease{} }, func(_ string, l *leasesapi.Lease) error {
			if lease.Expired(l, now) {
				return nil
			}
			for _, r := range lease.Resources(txn, ns, l.ID) {
				switch {
				case r.Type == "content":
					queue = append(queue, digest.Digest(r.ID))
				case strings.HasPrefix(r.Type, "snapshots/"):
					keep(snaps, strings.TrimPrefix(r.Type, "snapshots/"), r.ID)
				}
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		if marked[d] {
			continue
		}
		marked[d] = true
		info, ok := infos[d]
		if !ok {
			continue
		}
		for k, v := range info.Labels {
			switch {
			case strings.HasPrefix(k, contentRefLabel):
				if dd, err := digest.Parse(v); err == nil {
					queue = append(queue, dd)
				}
			case strings.HasPrefix(k, SnapshotRefLabel):
				keep(snaps, strings.TrimPrefix(k, SnapshotRefLabel), v)
			}
		}
		queue = append(queue, c.children(ctx, info)...)
	}
	// Content written after the mark's transaction is not in infos and
	// stays (a commit records the blob and its lease's hold together).
	// A blob the mark found unreferenced that a lease came to hold since
	// (a writer finding it present and holding it), or whose labels
	// changed, stays too: the deleting transaction checks again and
	// conflicts with a concurrent hold or update. What remains: a lease
	// created after that check began whose hold commits before the
	// deletion does, and an image created on an unmarked blob, are not
	// seen. containerd excludes both by holding its metadata write lock
	// from mark to sweep.
	now := time.Now()
	for d, info := range infos {
		if marked[d] {
			continue
		}
		deleted, err := c.Content.DeleteInNamespace(ctx, ns, d, stillReferenced(ns, info, now))
		switch {
		case errdefs.IsNotFound(err):
			// deleted by its owner meanwhile
		case err != nil:
			return err
		case deleted:
			log.G(ctx).Debug("collected content", zap.String("namespace", ns), zap.String("digest", d.String()))
		}
	}
	if c.Snapshots != nil {
		// Content is collected either way; snapshots wait for a sweep
		// that can see every reference.
		if listErr == nil {
			listErr = c.Snapshots.Sweep(ctx, ns, listed, snaps)
		}
		if listErr != nil {
			log.G(ctx).Warn("snapshots not collected", zap.String("namespace", ns), zap.Error(listErr))
		}
	}
	return nil
}

// leaseEnded reports whether a lease of ns is gone, read when asked: a
// lease created after the namespaces' marks still holds its ingests.
func (c *Collector) leaseEnded(ns, id string) bool {
	var exists bool
	err := c.DB.View(func(txn *badger.Txn) (err error) {
		exists, err = store.Exists(txn, lease.Prefix(ns)+id)
		return err
	})
	return err == nil && !exists
}

// stillReferenced is asked in the transaction deleting an unmarked blob:
// it keeps the blob if its labels changed since the mark read it or a
// lease holds it now.
func stillReferenced(ns string, marked *contentapi.Info, now time.Time) func(*badger.Txn, *contentapi.Info) (bool, error) {
	return func(txn *badger.Txn, cur *contentapi.Info) (bool, error) {
		if !cur.GetUpdatedAt().AsTime().Equal(marked.GetUpdatedAt().AsTime()) {
			return true, nil
		}
		return lease.Holds(txn, ns, &leasesapi.Resource{Type: "content", ID: marked.Digest}, now)
	}
}

func keep(snaps map[string]map[string]bool, snapshotter, key string) {
	if snaps[snapshotter] == nil {
		snaps[snapshotter] = map[string]bool{}
	}
	snaps[snapshotter][key] = true
}

// children returns what a manifest or index names, so that content stays
// reachable even when a client did not label it.
func (c *Collector) children(ctx context.Context, info *contentapi.Info) []digest.Digest {
	if info.Size > maxParse || info.Size < 2 {
		return nil
	}
	f, _, err := c.Content.Open(ctx, info.Digest)
	if err != nil {
		return nil
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxParse))
	if err != nil {
		return nil
	}
	return Children(b)
}

// Children returns the digests a manifest or index names (config, layers,
// manifests); anything else yields none.
func Children(b []byte) []digest.Digest {
	var doc struct {
		Config    *struct{ Digest digest.Digest }  `json:"config"`
		Layers    []struct{ Digest digest.Digest } `json:"layers"`
		Manifests []struct{ Digest digest.Digest } `json:"manifests"`
	}
	if len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &doc) != nil {
		return nil
	}
	var out []digest.Digest
	if doc.Config != nil {
		out = append(out, doc.Config.Digest)
	}
	for _, l := range doc.Layers {
		out = append(out, l.Digest)
	}
	for _, m := range doc.Manifests {
		out = append(out, m.Digest)
	}
	var valid []digest.Digest
	for _, d := range out {
		if d.Validate() == nil {
			valid = append(valid, d)
		}
	}
	return valid
}
