package snapshot

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	api "github.com/containerd/containerd/api/services/snapshots/v1"
	"github.com/containerd/containerd/api/types"
	"github.com/containerd/errdefs"
	"github.com/dgraph-io/badger/v4"

	"berth.dev/pkg/events"
	"berth.dev/pkg/labels"
	"berth.dev/pkg/namespace"
)

// Manager serves every snapshotter.
type Manager struct {
	db      *badger.DB
	outbox  *events.Outbox
	root    string
	seq     *badger.Sequence
	drivers map[string]driver
	// Hold, when set, puts a new snapshot under the caller's lease.
	Hold func(ctx context.Context, snapshotter, key string) error

	writers writers
}

// New returns a manager rooted at root. Overlayfs is offered only where the
// kernel supports it.
func New(db *badger.DB, outbox *events.Outbox, root string) (*Manager, error) {
	seq, err := db.GetSequence([]byte("snapseq"), 100)
	if err != nil {
		return nil, err
	}
	m := &Manager{db: db, outbox: outbox, root: root, seq: seq, drivers: map[string]driver{"native": native{}}}
	if OverlaySupported() == nil {
		m.drivers["overlayfs"] = overlay{}
	}
	return m, nil
}

// Snapshotters lists the available snapshotters.
func (m *Manager) Snapshotters() []string {
	var out []string
	for n := range m.drivers {
		out = append(out, n)
	}
	return out
}

// Root is where a snapshotter keeps its data.
func (m *Manager) Root(snapshotter string) string { return filepath.Join(m.root, snapshotter) }

func (m *Manager) dir(snapshotter string, id uint64) string {
	return filepath.Join(m.root, snapshotter, strconv.FormatUint(id, 10))
}

func (m *Manager) driver(name string) (driver, error) {
	if name == "" {
		name = "overlayfs"
	}
	d, ok := m.drivers[name]
	if !ok {
		return nil, fmt.Errorf("snapshotter %q: %w", name, errdefs.ErrNotFound)
	}
	return d, nil
}

// req holds what every call needs.
type req struct {
	ns, snapshotter string
	d               driver
}

func (m *Manager) request(ctx context.Context, snapshotter string) (req, error) {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return req{}, err
	}
	if snapshotter == "" {
		snapshotter = "overlayfs"
	}
	d, err := m.driver(snapshotter)
	return req{ns: ns, snapshotter: snapshotter, d: d}, err
}

// parents returns the fs dirs of key's committed ancestry, nearest first.
func (m *Manager) parents(txn *badger.Txn, r req, parent string) ([]string, error) {
	var out []string
	for parent != "" {
		p, err := getRecord(txn, r.snapshotter, r.ns, parent)
		if err != nil {
			return nil, fmt.Errorf("parent %w", err)
		}
		if p.Kind != api.Kind_COMMITTED {
			return nil, fmt.Errorf("parent %q is not committed: %w", parent, errdefs.ErrInvalidArgument)
		}
		out = append(out, filepath.Join(m.dir(r.snapshotter, p.ID), "fs"))
		parent = p.Parent
	}
	return out, nil
}

// Prepare creates an active (or, with kind VIEW, a read-only) snapshot.
func (m *Manager) Prepare(ctx context.Context, snapshotter, key, parent string, lbls map[string]string, kind api.Kind) ([]*types.Mount, error) {
	r, err := m.request(ctx, snapshotter)
	if err != nil {
		return nil, err
	}
	if key == "" {
		return nil, fmt.Errorf("snapshot key must not be empty: %w", errdefs.ErrInvalidArgument)
	}
	if err := labels.Validate(lbls); err != nil {
		return nil, err
	}
	// The key goes under the caller's lease before the snapshot exists: a
	// collection that marks before the hold lists the snapshot only if it
	// was created after the mark began, and spares those.
	if m.Hold != nil {
		if err := m.Hold(ctx, r.snapshotter, key); err != nil {
			return nil, fmt.Errorf("hold snapshot %q under the lease: %w", key, err)
		}
	}
	id, err := m.seq.Next()
	if err != nil {
		return nil, err
	}
	id++ // sequences start at 0; keep 0 as "none"
	dir := m.dir(r.snapshotter, id)
	var mounts []*types.Mount
	err = m.outbox.Update(ctx, func(txn *badger.Txn, rec *events.Recorder) error {
		if _, err := getRecord(txn, r.snapshotter, r.ns, key); err == nil {
			return fmt.Errorf("snapshot %q: %w", key, errdefs.ErrAlreadyExists)
		}
		parents, err := m.parents(txn, r, parent)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(dir, "fs"), 0o755); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(dir, "work"), 0o711); err != nil {
			return err
		}
		if err := r.d.prepare(filepath.Join(dir, "fs"), parents); err != nil {
			return err
		}
		now := time.Now().UTC()
		if err := putRecord(txn, r.snapshotter, r.ns, key, &record{ID: id, Kind: kind, Parent: parent, Labels: lbls, Created: now, Updated: now}); err != nil {
			return err
		}
		mounts = r.d.mounts(kind, filepath.Join(dir, "fs"), filepath.Join(dir, "work"), parents)
		return rec.Add(r.ns, events.TopicSnapshotPrepare, &apievents.SnapshotPrepare{Key: key, Parent: parent, Snapshotter: r.snapshotter})
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return mounts, nil
}

// Mounts returns how to mount an active or view snapshot.
func (m *Manager) Mounts(ctx context.Context, snapshotter, key string) ([]*types.Mount, error) {
	r, err := m.request(ctx, snapshotter)
	if err != nil {
		return nil, err
	}
	var mounts []*types.Mount
	err = m.db.View(func(txn *badger.Txn) error {
		rec, err := getRecord(txn, r.snapshotter, r.ns, key)
		if err != nil {
			return err
		}
		if rec.Kind == api.Kind_COMMITTED {
			return fmt.Errorf("snapshot %q is committed and cannot be mounted: %w", key, errdefs.ErrFailedPrecondition)
		}
		parents, err := m.parents(txn, r, rec.Parent)
		if err != nil {
			return err
		}
		dir := m.dir(r.snapshotter, rec.ID)
		mounts = r.d.mounts(rec.Kind, filepath.Join(dir, "fs"), filepath.Join(dir, "work"), parents)
		return nil
	})
	return mounts, err
}
