package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/containerd/errdefs"
	"github.com/dgraph-io/badger/v4"

	berthstore "berth.dev/pkg/store"
)

const (
	sandboxPrefix   = "cri/sandbox/"
	containerPrefix = "cri/container/"
	namePrefix      = "cri/name/"
)

// Store holds sandbox and container records. Every write runs through
// berthstore.Update: exit events and CRI calls change the same records at
// once, and badger fails the later of two such transactions with a
// conflict that running it again on the fresh records resolves.
type Store struct {
	db *badger.DB
	// leaving holds the ids of removed containers whose record's deletion
	// is not committed yet (DeleteContainerLater): to every reader and
	// writer they are gone already.
	leaving sync.Map
	deletes sync.WaitGroup
}

// New returns the store over db.
func New(db *badger.DB) *Store { return &Store{db: db} }

// AddSandbox records a new sandbox and reserves its name.
func (s *Store) AddSandbox(ctx context.Context, sb *Sandbox) error {
	return berthstore.Update(ctx, s.db, func(txn *badger.Txn) error {
		if err := s.reserve(txn, sb.Name, sb.ID); err != nil {
			return err
		}
		return put(txn, sandboxPrefix+sb.ID, sb)
	})
}

// AddContainer records a new container and reserves its name; the sandbox
// must exist.
func (s *Store) AddContainer(ctx context.Context, c *Container) error {
	return berthstore.Update(ctx, s.db, func(txn *badger.Txn) error {
		if _, err := txn.Get([]byte(sandboxPrefix + c.SandboxID)); err != nil {
			if errors.Is(err, badger.ErrKeyNotFound) {
				return fmt.Errorf("sandbox %q: %w", c.SandboxID, errdefs.ErrNotFound)
			}
			return err
		}
		if err := s.reserve(txn, c.Name, c.ID); err != nil {
			return err
		}
		return put(txn, containerPrefix+c.ID, c)
	})
}

// reserve takes name for id, if no one holds it but a container that is
// leaving (its record's deletion releases the name only while it holds it).
func (s *Store) reserve(txn *badger.Txn, name, id string) error {
	item, err := txn.Get([]byte(namePrefix + name))
	if err == nil {
		var holder string
		item.Value(func(v []byte) error { holder = string(v); return nil })
		if _, gone := s.leaving.Load(holder); gone {
			return txn.Set([]byte(namePrefix+name), []byte(id))
		}
		return fmt.Errorf("name %q is reserved for %q: %w", name, holder, errdefs.ErrAlreadyExists)
	}
	if !errors.Is(err, badger.ErrKeyNotFound) {
		return err
	}
	return txn.Set([]byte(namePrefix+name), []byte(id))
}

// Sandbox returns a sandbox by id.
func (s *Store) Sandbox(id string) (*Sandbox, error) {
	sb := &Sandbox{}
	if err := s.get(sandboxPrefix, id, sb); err != nil {
		return nil, fmt.Errorf("sandbox %q: %w", id, err)
	}
	return sb, nil
}

// Container returns a container by id.
func (s *Store) Container(id string) (*Container, error) {
	if _, gone := s.leaving.Load(id); gone {
		return nil, fmt.Errorf("container %q: %w", id, errdefs.ErrNotFound)
	}
	c := &Container{}
	if err := s.get(containerPrefix, id, c); err != nil {
		return nil, fmt.Errorf("container %q: %w", id, err)
	}
	return c, nil
}

func (s *Store) get(prefix, id string, v any) error {
	if id == "" {
		return fmt.Errorf("empty id: %w", errdefs.ErrNotFound)
	}
	return s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(prefix + id))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return errdefs.ErrNotFound
		}
		if err != nil {
			return err
		}
		return item.Value(func(b []byte) error { return json.Unmarshal(b, v) })
	})
}

// UpdateSandbox applies fn to a sandbox's record. fn may run more than
// once, each time on the record as it is then, and must have no effect
// outside it.
func (s *Store) UpdateSandbox(ctx context.Context, id string, fn func(*Sandbox) error) (*Sandbox, error) {
	sb, err := update(ctx, s.db, sandboxPrefix+id, fn)
	if err != nil {
		return nil, fmt.Errorf("sandbox %q: %w", id, err)
	}
	return sb, nil
}

// UpdateContainer applies fn to a container's record, as UpdateSandbox
// does.
func (s *Store) UpdateContainer(ctx context.Context, id string, fn func(*Container) error) (*Container, error) {
	if _, gone := s.leaving.Load(id); gone {
		return nil, fmt.Errorf("container %q: %w", id, errdefs.ErrNotFound)
	}
	c, err := update(ctx, s.db, containerPrefix+id, fn)
	if err != nil {
		return nil, fmt.Errorf("container %q: %w", id, err)
	}
	return c, nil
}

// ErrUnchanged returned by an update function leaves the record as it was,
// without a write.
var ErrUnchanged = errors.New("unchanged")

// update applies fn to the record at key and writes it back. Each run of
// the transaction decodes into a fresh record: decoding onto the previous
// run's would keep the fields fn set there that the stored record omits.
func update[T any](ctx context.Context, db *badger.DB, key string, fn func(*T) error) (*T, error) {
	var v *T
	err := berthstore.Update(ctx, db, func(txn *badger.Txn) error {
		v = new(T)
		item, err := txn.Get([]byte(key))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return errdefs.ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := item.Value(func(b []byte) error { return json.Unmarshal(b, v) }); err != nil {
			return err
		}
		if err := fn(v); err != nil {
			if errors.Is(err, ErrUnchanged) {
				return nil
			}
			return err
		}
		return put(txn, key, v)
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// DeleteSandbox removes a sandbox's record and releases its name; an
// absent record is not an error.
func (s *Store) DeleteSandbox(ctx context.Context, id string) error {
	return s.delete(ctx, sandboxPrefix, id, func(b []byte) (string, error) {
		var sb Sandbox
		return sb.Name, json.Unmarshal(b, &sb)
	})
}

// DeleteContainer removes a container's record and releases its name.
func (s *Store) DeleteContainer(ctx context.Context, id string) error {
	return s.delete(ctx, containerPrefix, id, func(b []byte) (string, error) {
		var c Container
		return c.Name, json.Unmarshal(b, &c)
	})
}

// DeleteContainerLater removes a container's record for every caller at
// once and commits the deletion (a synced write) in the background: for a
// record that taskd's durable deletion of the container already makes
// void, so that a record a crash brings back is dropped at start
// (RuntimeService.Reconcile). A failed deletion leaves the container gone
// to this process; the next start drops the record.
func (s *Store) DeleteContainerLater(ctx context.Context, id string) {
	s.leaving.Store(id, struct{}{})
	s.deletes.Add(1)
	go func() {
		defer s.deletes.Done()
		if err := s.DeleteContainer(context.WithoutCancel(ctx), id); err == nil {
			s.leaving.Delete(id)
		}
	}()
}

// WaitDeletes waits for the deletions DeleteContainerLater started.
func (s *Store) WaitDeletes() { s.deletes.Wait() }

func (s *Store) delete(ctx context.Context, prefix, id string, name func([]byte) (string, error)) error {
	return berthstore.Update(ctx, s.db, func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(prefix + id))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		var n string
		if err := item.Value(func(b []byte) error { var e error; n, e = name(b); return e }); err != nil {
			return err
		}
		if held, err := txn.Get([]byte(namePrefix + n)); err == nil {
			var holder string
			held.Value(func(v []byte) error { holder = string(v); return nil })
			if holder == id {
				if err := txn.Delete([]byte(namePrefix + n)); err != nil {
					return err
				}
			}
		}
		return txn.Delete([]byte(prefix + id))
	})
}

// Sandboxes returns every sandbox.
func (s *Store) Sandboxes() ([]*Sandbox, error) {
	var out []*Sandbox
	err := s.list(sandboxPrefix, func(b []byte) error {
		sb := &Sandbox{}
		if err := json.Unmarshal(b, sb); err != nil {
			return err
		}
		out = append(out, sb)
		return nil
	})
	return out, err
}

// Containers returns every container.
func (s *Store) Containers() ([]*Container, error) {
	var out []*Container
	err := s.list(containerPrefix, func(b []byte) error {
		c := &Container{}
		if err := json.Unmarshal(b, c); err != nil {
			return err
		}
		if _, gone := s.leaving.Load(c.ID); !gone {
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

func (s *Store) list(prefix string, fn func([]byte) error) error {
	return s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefix), PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := it.Item().Value(fn); err != nil {
				return err
			}
		}
		return nil
	})
}

// ResolveSandbox finds a sandbox by its id or a unique prefix of it.
func (s *Store) ResolveSandbox(idOrPrefix string) (*Sandbox, error) {
	if sb, err := s.Sandbox(idOrPrefix); err == nil || !errdefs.IsNotFound(err) {
		return sb, err
	}
	all, err := s.Sandboxes()
	if err != nil {
		return nil, err
	}
	var found *Sandbox
	for _, sb := range all {
		if idOrPrefix != "" && strings.HasPrefix(sb.ID, idOrPrefix) {
			if found != nil {
				return nil, fmt.Errorf("sandbox id prefix %q is ambiguous: %w", idOrPrefix, errdefs.ErrInvalidArgument)
			}
			found = sb
		}
	}
	if found == nil {
		return nil, fmt.Errorf("sandbox %q: %w", idOrPrefix, errdefs.ErrNotFound)
	}
	return found, nil
}

// ResolveContainer finds a container by its id or a unique prefix of it.
func (s *Store) ResolveContainer(idOrPrefix string) (*Container, error) {
	if c, err := s.Container(idOrPrefix); err == nil || !errdefs.IsNotFound(err) {
		return c, err
	}
	all, err := s.Containers()
	if err != nil {
		return nil, err
	}
	var found *Container
	for _, c := range all {
		if idOrPrefix != "" && strings.HasPrefix(c.ID, idOrPrefix) {
			if found != nil {
				return nil, fmt.Errorf("container id prefix %q is ambiguous: %w", idOrPrefix, errdefs.ErrInvalidArgument)
			}
			found = c
		}
	}
	if found == nil {
		return nil, fmt.Errorf("container %q: %w", idOrPrefix, errdefs.ErrNotFound)
	}
	return found, nil
}

func put(txn *badger.Txn, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return txn.Set([]byte(key), b)
}
