package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	api "github.com/containerd/containerd/api/services/leases/v1"
	"github.com/containerd/errdefs"
	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/types/known/timestamppb"

	"berth.dev/pkg/filters"
	"berth.dev/pkg/labels"
	"berth.dev/pkg/lease"
	"berth.dev/pkg/namespace"
	"berth.dev/pkg/store"
)

// ExpireLabel holds an RFC 3339 time after which the lease no longer holds
// anything.
const ExpireLabel = "containerd.io/gc.expire"

// Store holds leases.
type Store struct {
	db *badger.DB
	// Grace is how long a lease whose client is gone lives on without
	// activity (DefaultGrace when zero).
	Grace time.Duration
}

// New returns the store.
func New(db *badger.DB) *Store { return &Store{db: db} }

// Prefix is the record prefix of a namespace's leases.
func Prefix(ns string) string { return "lease/" + ns + "/" }

func key(ns, id string) string       { return Prefix(ns) + id }
func resPrefix(ns, id string) string { return "leaseres/" + ns + "/" + id + "\x00" }
func resKey(ns, id string, r *api.Resource) string {
	return resPrefix(ns, id) + r.Type + "\x00" + r.ID
}

// Create adds a lease; an empty id gets a random one.
func (s *Store) Create(ctx context.Context, id string, lbls map[string]string) (*api.Lease, error) {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return nil, err
	}
	if id == "" {
		b := make([]byte, 12)
		rand.Read(b)
		id = hex.EncodeToString(b)
	}
	if strings.ContainsRune(id, 0) {
		return nil, fmt.Errorf("lease id %q: %w", id, errdefs.ErrInvalidArgument)
	}
	if err := labels.Validate(lbls); err != nil {
		return nil, err
	}
	l := &api.Lease{ID: id, CreatedAt: timestamppb.Now(), Labels: lbls}
	err = store.Update(ctx, s.db, func(txn *badger.Txn) error {
		if ok, err := store.Exists(txn, key(ns, id)); err != nil {
			return err
		} else if ok {
			return fmt.Errorf("lease %q: %w", id, errdefs.ErrAlreadyExists)
		}
		if err := store.Put(txn, key(ns, id), l); err != nil {
			return err
		}
		// Only a lease that declares itself temporary (an expiry, as
		// clients set on the leases of their pulls and runs) follows its
		// client; one without an expiry holds until it is deleted.
		if _, temporary := lbls[ExpireLabel]; temporary {
			return recordOwner(ctx, txn, ns, id)
		}
		return nil
	})
	return l, err
}

// Delete removes a lease and its holds.
func (s *Store) Delete(ctx context.Context, id string) error {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return err
	}
	if err := deleteLease(ctx, s.db, ns, id, nil); err != nil {
		return fmt.Errorf("lease %q: %w", id, err)
	}
	return nil
}

// deleteLease removes a lease's holds, then its record and owner: in one
// transaction unless it holds more than one can take. ok, when set, is
// asked in the transaction removing the record whether the lease is still
// to end; a false answer keeps the lease (with its holds, unless they
// needed transactions of their own) and deleteLease reports errKept.
func deleteLease(ctx context.Context, db *badger.DB, ns, id string, ok func(txn *badger.Txn) (bool, error)) error {
	return store.DeleteAllThen(ctx, db, resPrefix(ns, id), func(txn *badger.Txn) error {
		if ok != nil {
			if end, err := ok(txn); err != nil || !end {
				if err == nil {
					err = errKept
				}
				return err
			}
		}
		if err := store.Delete(txn, key(ns, id)); err != nil {
			return err
		}
		return txn.Delete([]byte(ownerKey(ns, id)))
	})
}

// errKept is a lease a removal found it should keep after all.
var errKept = errors.New("lease kept")

// List returns leases matching filters (id, labels).
func (s *Store) List(ctx context.Context, fs ...string) ([]*api.Lease, error) {
	return store.ListFiltered(ctx, s.db, Prefix, func() *api.Lease { return &api.Lease{} }, fs, func(l *api.Lease) filters.Adaptor {
		return filters.AdapterFunc(func(p []string) (string, bool) {
			switch p[0] {
			case "id":
				return l.ID, true
			case "labels":
				return filters.LabelsAdaptor(l.Labels, p)
			}
			return "", false
		})
	})
}

// AddResource makes a lease hold resources, in one transaction.
func (s *Store) AddResource(ctx context.Context, id string, rs ...*api.Resource) error {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return err
	}
	return store.Update(ctx, s.db, func(txn *badger.Txn) error {
		for _, r := range rs {
			if err := addResource(txn, ns, id, r); err != nil {
				return err
			}
		}
		return touch(ctx, txn, ns, id)
	})
}

func addResource(txn *badger.Txn, ns, id string, r *api.Resource) error {
	if r == nil || r.ID == "" || r.Type == "" {
		return fmt.Errorf("resource needs a type and an id: %w", errdefs.ErrInvalidArgument)
	}
	if ok, err := store.Exists(txn, key(ns, id)); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("lease %q: %w", id, errdefs.ErrNotFound)
	}
	k := []byte(resKey(ns, id, r))
	// A resource held already is not written again: a transaction that
	// writes nothing commits without a sync (a pull holds a snapshot,
	// then snapshotd holds it again as the pull commits it).
	if ok, err := store.Exists(txn, string(k)); err != nil || ok {
		return err
	}
	return txn.Set(k, nil)
}

// HoldFromContext adds a resource to the lease the request carries, if any,
// inside txn: what is written under a lease is protected from the start.
func HoldFromContext(ctx context.Context, txn *badger.Txn, ns string, r *api.Resource) error {
	id, ok := lease.FromContext(ctx)
	if !ok {
		return nil
	}
	if err := addResource(txn, ns, id, r); err != nil {
		return err
	}
	return touch(ctx, txn, ns, id)
}

// DeleteResource releases a resource.
func (s *Store) DeleteResource(ctx context.Context, id string, r *api.Resource) error {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return err
	}
	return store.Update(ctx, s.db, func(txn *badger.Txn) error {
		if ok, err := store.Exists(txn, key(ns, id)); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("lease %q: %w", id, errdefs.ErrNotFound)
		}
		return txn.Delete([]byte(resKey(ns, id, r)))
	})
}

// ListResources lists what a lease holds.
func (s *Store) ListResources(ctx context.Context, id string) ([]*api.Resource, error) {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return nil, err
	}
	var out []*api.Resource
	err = s.db.View(func(txn *badger.Txn) error {
		if ok, err := store.Exists(txn, key(ns, id)); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("lease %q: %w", id, errdefs.ErrNotFound)
		}
		out = Resources(txn, ns, id)
		return nil
	})
	return out, err
}

// Resources lists a lease's resources inside a transaction.
func Resources(txn *badger.Txn, ns, id string) []*api.Resource {
	var out []*api.Resource
	p := resPrefix(ns, id)
	for _, k := range store.Keys(txn, p) {
		typ, rid, _ := strings.Cut(strings.TrimPrefix(k, p), "\x00")
		out = append(out, &api.Resource{Type: typ, ID: rid})
	}
	return out
}

// Holds reports, inside txn, whether an unexpired lease of ns holds r now.
// The collector asks again in the transaction that deletes what its mark
// found unreferenced: a hold added since then conflicts with that
// transaction (its key was read), which then retries and sees it.
func Holds(txn *badger.Txn, ns string, r *api.Resource, now time.Time) (bool, error) {
	held := false
	err := store.Each(txn, Prefix(ns), func() *api.Lease { return &api.Lease{} }, func(_ string, l *api.Lease) error {
		if held || Expired(l, now) {
			return nil
		}
		ok, err := store.Exists(txn, resKey(ns, l.ID, r))
		held = ok
		return err
	})
	return held, err
}

// Expired reports whether a lease's expiry label has passed.
func Expired(l *api.Lease, now time.Time) bool {
	v, ok := l.Labels[ExpireLabel]
	if !ok {
		return false
	}
	t, err := time.Parse(time.RFC3339, v)
	return err == nil && now.After(t)
}
