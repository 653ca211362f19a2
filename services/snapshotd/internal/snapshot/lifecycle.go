package snapshot

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	api "github.com/containerd/containerd/api/services/snapshots/v1"
	"github.com/containerd/errdefs"
	"github.com/dgraph-io/badger/v4"

	"berth.dev/pkg/events"
	"berth.dev/pkg/filters"
	"berth.dev/pkg/labels"
	"berth.dev/pkg/store"
)

// Commit turns the active snapshot key into the committed snapshot name.
// A parent other than the one key was prepared on rebases it: an overlay
// layer unpacked on its own (in parallel with the layers below it) is
// committed on top of them. Only overlayfs can rebase, since its snapshots
// hold their own changes only.
func (m *Manager) Commit(ctx context.Context, snapshotter, name, key, parent string, lbls map[string]string) error {
	r, err := m.request(ctx, snapshotter)
	if err != nil {
		return err
	}
	if name == "" {
		return fmt.Errorf("committed snapshot needs a name: %w", errdefs.ErrInvalidArgument)
	}
	if err := labels.Validate(lbls); err != nil {
		return err
	}
	// Like containerd, the committed snapshot is held by the caller's
	// lease (until an image's labels reference it), put under it before it
	// exists, as Prepare does.
	if m.Hold != nil {
		if err := m.Hold(ctx, r.snapshotter, name); err != nil {
			return fmt.Errorf("hold snapshot %q under the lease: %w", name, err)
		}
	}
	return m.outbox.Update(ctx, func(txn *badger.Txn, rec *events.Recorder) error {
		cur, err := getRecord(txn, r.snapshotter, r.ns, key)
		if err != nil {
			return err
		}
		if cur.Kind != api.Kind_ACTIVE {
			return fmt.Errorf("snapshot %q is not active: %w", key, errdefs.ErrFailedPrecondition)
		}
		if _, err := getRecord(txn, r.snapshotter, r.ns, name); err == nil {
			return fmt.Errorf("snapshot %q: %w", name, errdefs.ErrAlreadyExists)
		}
		if parent != "" && parent != cur.Parent {
			if err := m.rebase(txn, r, cur, parent); err != nil {
				return err
			}
		}
		cur.Size, cur.Inodes = usage(filepath.Join(m.dir(r.snapshotter, cur.ID), "fs"))
		cur.Kind = api.Kind_COMMITTED
		cur.Updated = time.Now().UTC()
		if len(lbls) > 0 {
			cur.Labels = lbls
		}
		if err := txn.Delete(recordKey(r.snapshotter, r.ns, key)); err != nil {
			return err
		}
		if err := putRecord(txn, r.snapshotter, r.ns, name, cur); err != nil {
			return err
		}
		return rec.Add(r.ns, events.TopicSnapshotCommit, &apievents.SnapshotCommit{Key: key, Name: name, Snapshotter: r.snapshotter})
	})
}

func (m *Manager) rebase(txn *badger.Txn, r req, cur *record, parent string) error {
	if _, ok := r.d.(overlay); !ok || cur.Parent != "" {
		return fmt.Errorf("only an overlayfs snapshot prepared without a parent can be committed onto %q: %w", parent, errdefs.ErrFailedPrecondition)
	}
	p, err := getRecord(txn, r.snapshotter, r.ns, parent)
	if err != nil {
		return fmt.Errorf("parent %w", err)
	}
	if p.Kind != api.Kind_COMMITTED {
		return fmt.Errorf("parent %q is not committed: %w", parent, errdefs.ErrFailedPrecondition)
	}
	cur.Parent = parent
	return nil
}

// RemoveOpt narrows a removal.
type RemoveOpt func(*removal)

type removal struct {
	created   time.Time
	ifCreated bool
}

// IfCreated removes the snapshot only if it was created at t (the time a
// listing reported): a snapshot removed and created again under the same
// key since is another one, and the removal fails with FailedPrecondition.
func IfCreated(t time.Time) RemoveOpt {
	return func(r *removal) { r.created, r.ifCreated = t, true }
}

// Remove deletes a snapshot that has no children and that no layer is
// being applied into.
func (m *Manager) Remove(ctx context.Context, snapshotter, key string, opts ...RemoveOpt) error {
	r, err := m.request(ctx, snapshotter)
	if err != nil {
		return err
	}
	var o removal
	for _, opt := range opts {
		opt(&o)
	}
	// The directory stays marked as being removed from before its record
	// goes until it is gone from disk, so no apply starts into it. Marking
	// is idempotent and undone here, so a transaction run again after a
	// conflict may mark again.
	var marked []string
	defer func() {
		for _, d := range marked {
			m.writers.endRemove(d)
		}
	}()
	var dir string
	err = m.outbox.Update(ctx, func(txn *badger.Txn, rec *events.Recorder) error {
		cur, err := getRecord(txn, r.snapshotter, r.ns, key)
		if err != nil {
			return err
		}
		if o.ifCreated && !cur.Created.Equal(o.created) {
			return fmt.Errorf("snapshot %q was created at %s, not %s: %w", key,
				cur.Created.Format(time.RFC3339Nano), o.created.Format(time.RFC3339Nano), errdefs.ErrFailedPrecondition)
		}
		var child string
		eachRecord(txn, r.snapshotter, r.ns, func(k string, c *record) error {
			if c.Parent == key && child == "" {
				child = k
			}
			return nil
		})
		if child != "" {
			return fmt.Errorf("snapshot %q has child %q: %w", key, child, errdefs.ErrFailedPrecondition)
		}
		dir = m.dir(r.snapshotter, cur.ID)
		if err := m.writers.startRemove(key, dir); err != nil {
			return err
		}
		marked = append(marked, dir)
		if err := txn.Delete(recordKey(r.snapshotter, r.ns, key)); err != nil {
			return err
		}
		return rec.Add(r.ns, events.TopicSnapshotRemove, &apievents.SnapshotRemove{Key: key, Snapshotter: r.snapshotter})
	})
	if err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

// Stat returns a snapshot's info.
func (m *Manager) Stat(ctx context.Context, snapshotter, key string) (*api.Info, error) {
	r, err := m.request(ctx, snapshotter)
	if err != nil {
		return nil, err
	}
	var info *api.Info
	err = m.db.View(func(txn *badger.Txn) error {
		cur, err := getRecord(txn, r.snapshotter, r.ns, key)
		if err == nil {
			info = cur.info(key)
		}
		return err
	})
	return info, err
}

// Update changes a snapshot's labels.
func (m *Manager) Update(ctx context.Context, snapshotter string, in *api.Info, paths []string) (*api.Info, error) {
	r, err := m.request(ctx, snapshotter)
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		paths = []string{"labels"}
	}
	var out *api.Info
	err = store.Update(ctx, m.db, func(txn *badger.Txn) error {
		cur, err := getRecord(txn, r.snapshotter, r.ns, in.Name)
		if err != nil {
			return err
		}
		var rest []string
		if cur.Labels, rest = labels.Update(cur.Labels, in.Labels, paths); len(rest) > 0 {
			return labels.Unsupported(rest[0], "snapshot")
		}
		if err := labels.Validate(cur.Labels); err != nil {
			return err
		}
		cur.Updated = time.Now().UTC()
		out = cur.info(in.Name)
		return putRecord(txn, r.snapshotter, r.ns, in.Name, cur)
	})
	return out, err
}

// List returns the snapshots matching filters (name, parent, kind, labels).
func (m *Manager) List(ctx context.Context, snapshotter string, fs ...string) ([]*api.Info, error) {
	r, err := m.request(ctx, snapshotter)
	if err != nil {
		return nil, err
	}
	f, err := filters.Parse(fs...)
	if err != nil {
		return nil, err
	}
	var out []*api.Info
	err = m.db.View(func(txn *badger.Txn) error {
		return eachRecord(txn, r.snapshotter, r.ns, func(key string, cur *record) error {
			info := cur.info(key)
			if f.Match(infoAdaptor{info}) {
				out = append(out, info)
			}
			return nil
		})
	})
	return out, err
}

type infoAdaptor struct{ i *api.Info }

func (a infoAdaptor) Field(path []string) (string, bool) {
	switch path[0] {
	case "name":
		return a.i.Name, true
	case "parent":
		return a.i.Parent, true
	case "kind":
		return map[api.Kind]string{api.Kind_VIEW: "view", api.Kind_ACTIVE: "active", api.Kind_COMMITTED: "committed"}[a.i.Kind], true
	case "labels":
		return filters.LabelsAdaptor(a.i.Labels, path)
	}
	return "", false
}

// Usage returns a snapshot's own disk usage (measured at commit for
// committed snapshots, now for the others).
func (m *Manager) Usage(ctx context.Context, snapshotter, key string) (size, inodes int64, err error) {
	r, err := m.request(ctx, snapshotter)
	if err != nil {
		return 0, 0, err
	}
	var cur *record
	if err := m.db.View(func(txn *badger.Txn) error {
		cur, err = getRecord(txn, r.snapshotter, r.ns, key)
		return err
	}); err != nil {
		return 0, 0, err
	}
	if cur.Kind == api.Kind_COMMITTED {
		return cur.Size, cur.Inodes, nil
	}
	size, inodes = usage(filepath.Join(m.dir(r.snapshotter, cur.ID), "fs"))
	return size, inodes, nil
}

// Cleanup removes directories no snapshot record knows (left by a crash).
func (m *Manager) Cleanup(ctx context.Context, snapshotter string) error {
	r, err := m.request(ctx, snapshotter)
	if err != nil {
		return err
	}
	return m.cleanup(r.snapshotter)
}

func (m *Manager) cleanup(snapshotter string) error {
	known := map[string]bool{}
	err := m.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte("snap/" + snapshotter + "/"), PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			rec := &record{}
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, rec) }); err == nil {
				known[strconv.FormatUint(rec.ID, 10)] = true
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	entries, _ := os.ReadDir(m.Root(snapshotter))
	for _, e := range entries {
		if !known[e.Name()] {
			if err := os.RemoveAll(filepath.Join(m.Root(snapshotter), e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// CleanupAll runs Cleanup for every snapshotter (at start, after a crash).
func (m *Manager) CleanupAll() error {
	for name := range m.drivers {
		if err := m.cleanup(name); err != nil {
			return err
		}
	}
	return nil
}
