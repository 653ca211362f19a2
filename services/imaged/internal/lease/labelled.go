package lease

import (
	"context"
	"strings"

	api "github.com/containerd/containerd/api/services/leases/v1"
	"github.com/containerd/errdefs"
	"github.com/dgraph-io/badger/v4"

	"berth.dev/pkg/store"
)

// DeleteLabelled deletes, in every namespace, the leases whose label key
// is value, with what they hold, and returns how many ended. imaged uses
// it at start for the leases of its own operations that cannot have
// survived the previous process (its pulls').
func (s *Store) DeleteLabelled(key, value string) (int, error) {
	type found struct{ ns, id string }
	var ended []found
	err := s.db.View(func(txn *badger.Txn) error {
		return store.Each(txn, "lease/", func() *api.Lease { return &api.Lease{} }, func(k string, l *api.Lease) error {
			if v, ok := l.Labels[key]; ok && v == value {
				ns, _, _ := strings.Cut(strings.TrimPrefix(k, "lease/"), "/")
				ended = append(ended, found{ns, l.ID})
			}
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	// One lease at a time: together they may hold more than a
	// transaction takes.
	n := 0
	for _, f := range ended {
		err := deleteLease(context.Background(), s.db, f.ns, f.id, nil)
		if err != nil && !errdefs.IsNotFound(err) {
			return n, err
		}
		if err == nil {
			n++
		}
	}
	return n, nil
}
