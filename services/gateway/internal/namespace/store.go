package namespace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"

	apievents "github.com/containerd/containerd/api/events"
	"github.com/containerd/errdefs"
	"github.com/dgraph-io/badger/v4"

	"berth.dev/pkg/events"
	"berth.dev/pkg/labels"
	pkgns "berth.dev/pkg/namespace"
)

const keyPrefix = "ns/"

// Namespace is one namespace record.
type Namespace struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
}

// Store holds namespace records.
type Store struct {
	db     *badger.DB
	outbox *events.Outbox
	// known caches names that exist, so Ensure on every forwarded call
	// costs a map lookup, not a transaction.
	mu    sync.RWMutex
	known map[string]bool
}

// New returns the store over db.
func New(db *badger.DB, outbox *events.Outbox) *Store {
	return &Store{db: db, outbox: outbox, known: map[string]bool{}}
}

func key(name string) []byte { return []byte(keyPrefix + name) }

func get(txn *badger.Txn, name string) (*Namespace, error) {
	item, err := txn.Get(key(name))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, fmt.Errorf("namespace %q: %w", name, errdefs.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	ns := &Namespace{}
	err = item.Value(func(v []byte) error { return json.Unmarshal(v, ns) })
	return ns, err
}

func put(txn *badger.Txn, ns *Namespace) error {
	data, err := json.Marshal(ns)
	if err != nil {
		return err
	}
	return txn.Set(key(ns.Name), data)
}

// Get returns a namespace.
func (s *Store) Get(_ context.Context, name string) (*Namespace, error) {
	var ns *Namespace
	err := s.db.View(func(txn *badger.Txn) (err error) {
		ns, err = get(txn, name)
		return err
	})
	return ns, err
}

// Labels returns a namespace's labels. As in containerd, a namespace that
// was never written to has no labels rather than being missing: a client
// configured with a default namespace asks for it before creating anything
// in it. A name that can never exist is an invalid argument.
func (s *Store) Labels(ctx context.Context, name string) (map[string]string, error) {
	if err := pkgns.Validate(name); err != nil {
		return nil, err
	}
	ns, err := s.Get(ctx, name)
	if errdefs.IsNotFound(err) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	return ns.Labels, nil
}

// List returns every namespace, sorted by name.
func (s *Store) List(context.Context) ([]*Namespace, error) {
	var out []*Namespace
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(keyPrefix), PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			ns := &Namespace{}
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, ns) }); err != nil {
				return err
			}
			out = append(out, ns)
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// Create adds a namespace; it fails with AlreadyExists if present.
func (s *Store) Create(ctx context.Context, ns *Namespace) error {
	if err := pkgns.Validate(ns.Name); err != nil {
		return err
	}
	if err := labels.Validate(ns.Labels); err != nil {
		return err
	}
	err := s.outbox.Update(ctx, func(txn *badger.Txn, rec *events.Recorder) error {
		if _, err := get(txn, ns.Name); err == nil {
			return fmt.Errorf("namespace %q: %w", ns.Name, errdefs.ErrAlreadyExists)
		}
		if err := put(txn, ns); err != nil {
			return err
		}
		return rec.Add(ns.Name, events.TopicNamespaceCreate, &apievents.NamespaceCreate{Name: ns.Name, Labels: ns.Labels})
	})
	if err == nil {
		s.remember(ns.Name, true)
	}
	return err
}

// Ensure creates name if it does not exist yet: containerd creates a
// namespace implicitly when something is first written into it.
func (s *Store) Ensure(ctx context.Context, name string) error {
	s.mu.RLock()
	known := s.known[name]
	s.mu.RUnlock()
	if known {
		return nil
	}
	err := s.Create(ctx, &Namespace{Name: name})
	if errdefs.IsAlreadyExists(err) {
		s.remember(name, true)
		return nil
	}
	return err
}

// Update replaces the labels named by paths ("labels" or "labels.<key>");
// with no paths every label is replaced.
func (s *Store) Update(ctx context.Context, name string, update map[string]string, paths []string) (*Namespace, error) {
	var out *Namespace
	err := s.outbox.Update(ctx, func(txn *badger.Txn, rec *events.Recorder) error {
		ns, err := get(txn, name)
		if err != nil {
			return err
		}
		if len(paths) == 0 {
			paths = []string{"labels"}
		}
		var rest []string
		if ns.Labels, rest = labels.Update(ns.Labels, update, paths); len(rest) > 0 {
			return labels.Unsupported(rest[0], "namespace")
		}
		if err := labels.Validate(ns.Labels); err != nil {
			return err
		}
		if err := put(txn, ns); err != nil {
			return err
		}
		out = ns
		return rec.Add(name, events.TopicNamespaceUpdate, &apievents.NamespaceUpdate{Name: name, Labels: ns.Labels})
	})
	return out, err
}

// Delete removes a namespace after inUse found nothing left in it.
func (s *Store) Delete(ctx context.Context, name string, inUse func(context.Context, string) error) error {
	if _, err := s.Get(ctx, name); err != nil {
		return err
	}
	if err := inUse(ctx, name); err != nil {
		return err
	}
	err := s.outbox.Update(ctx, func(txn *badger.Txn, rec *events.Recorder) error {
		if _, err := get(txn, name); err != nil {
			return err
		}
		if err := txn.Delete(key(name)); err != nil {
			return err
		}
		return rec.Add(name, events.TopicNamespaceDelete, &apievents.NamespaceDelete{Name: name})
	})
	if err == nil {
		s.remember(name, false)
	}
	return err
}

func (s *Store) remember(name string, exists bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if exists {
		s.known[name] = true
	} else {
		delete(s.known, name)
	}
}
