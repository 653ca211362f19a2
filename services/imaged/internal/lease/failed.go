package lease

import (
	"context"
	"fmt"

	"github.com/containerd/errdefs"
	"github.com/dgraph-io/badger/v4"

	"berth.dev/pkg/store"
)

// DropFailedCreate ends lease ns/id if client created it and its create
// failed for the client in a way that leaves open whether the lease was
// made (imaged killed after its commit, the call cut): the client knows no
// such lease (the containerd client gives up its pull or run) and would
// never delete it. A lease something was written under since stays, and
// so does another client's.
func (s *Store) DropFailedCreate(ctx context.Context, ns, id, client string) error {
	k := ownerKey(ns, id)
	unknown := func(txn *badger.Txn) (bool, error) {
		o, err := getOwner(txn, k)
		if err != nil || o == nil {
			return false, err
		}
		return o.Client == client && !o.Used && o.Orphaned == 0 && len(Resources(txn, ns, id)) == 0, nil
	}
	var drop bool
	if err := s.db.View(func(txn *badger.Txn) (err error) {
		drop, err = unknown(txn)
		return err
	}); err != nil || !drop {
		return err
	}
	err := store.DeleteAllThen(context.WithoutCancel(ctx), s.db, resPrefix(ns, id), func(txn *badger.Txn) error {
		if ok, err := unknown(txn); err != nil || !ok {
			return err
		}
		if err := store.Delete(txn, key(ns, id)); err != nil {
			return err
		}
		return txn.Delete([]byte(k))
	})
	if err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("lease %q: %w", id, err)
	}
	return nil
}
