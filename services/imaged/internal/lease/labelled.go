package lease

import (
	"context"
	"strings"

	api "github.com/containerd/containerd/api/services/leases/v1"
	"github.com/dgraph-io/badger/v4"

	"berth.dev/pkg/store"
)

// DeleteLabelled deletes, in every namespace, the leases whose label key
// is value, with what they hold, and returns how many ended. imaged uses
// it at start for the leases of its own operations that cannot have
// survived the previous process (its pulls').
func (s *Store) DeleteLabelled(key, value string) (int, error) {
	n := 0
	err := store.Update(context.Background(), s.db, func(txn *badger.Txn) error {
		type found struct{ ns, id string }
		var ended []found
		if err := store.Each(txn, "lease/", func() *api.Lease { return &api.Lease{} }, func(k string, l *api.Lease) error {
			if v, ok := l.Labels[key]; ok && v == value {
				ns, _, _ := strings.Cut(strings.TrimPrefix(k, "lease/"), "/")
				ended = append(ended, found{ns, l.ID})
			}
			return nil
		}); err != nil {
			return err
		}
		for _, f := range ended {
			if err := deleteLease(txn, f.ns, f.id); err != nil {
				return err
			}
			if err := txn.Delete([]byte(ownerKey(f.ns, f.id))); err != nil {
				return err
			}
		}
		n = len(ended)
		return nil
	})
	return n, err
}
