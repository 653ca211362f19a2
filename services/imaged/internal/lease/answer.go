package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/containerd/errdefs"
	"github.com/dgraph-io/badger/v4"

	"berth.dev/pkg/store"
)

// A client's lease Create can make the lease and still fail for the
// client: the gateway killed before it passed the answer on, imaged killed
// after its commit. The client then knows no lease (the containerd client
// gives up its pull or run) and would never delete it; kept like one made
// by `ctr leases create`, it would hold until its expiry, 24 hours for the
// containerd client. So the gateway tells imaged, before it sends a
// successful answer on, that the answer reaches the client (Answered), and
// after a create failed in a way that leaves open whether imaged made the
// lease, that it did not (DropUnanswered). A lease whose answer never
// reached its client counts as having no client: once its creating
// connection is reported gone (the gateway restarted), it is orphaned
// like a lease its client wrote under, and ends after the grace period if
// nothing is written under it. A lease answered and never written under
// stays until deleted or expired, as in containerd.
//
// The answers are kept in memory: a lease create is synced once, as in
// containerd, not twice. The knowledge covers the leases of imaged's own
// run; one created by an earlier run counts as answered, which keeps
// every lease a client may know.

// answers are the creates of one imaged run whose answer reached the client.
type answers struct {
	run string
	mu  sync.Mutex
	ok  map[string]bool // owner key
}

func newAnswers() answers {
	b := make([]byte, 8)
	rand.Read(b)
	return answers{run: hex.EncodeToString(b), ok: map[string]bool{}}
}

func (a *answers) answered(k string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ok[k] = true
}

func (a *answers) forget(k string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.ok, k)
}

// lost reports whether the answer to the create of the lease o owns never
// reached its client.
func (a *answers) lost(k string, o *owner) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return o.Run != "" && o.Run == a.run && !a.ok[k]
}

// Answered records that the answer to client's create of lease ns/id is
// being sent to it.
func (s *Store) Answered(ns, id, client string) error {
	k := ownerKey(ns, id)
	var o *owner
	if err := s.db.View(func(txn *badger.Txn) (err error) {
		o, err = getOwner(txn, k)
		return err
	}); err != nil {
		return err
	}
	if o == nil || o.Client != client {
		// No lease that follows its client (one without an expiry), or
		// not this client's: nothing to remember.
		return nil
	}
	s.answers.answered(k)
	return nil
}

// DropUnanswered ends lease ns/id if client created it and never got the
// answer (its create failed for the client): unless something was written
// under it since, nothing knows it.
func (s *Store) DropUnanswered(ctx context.Context, ns, id, client string) error {
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
	s.answers.forget(k)
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
		return fmt.Errorf("lease %q: %w", strings.TrimPrefix(k, ownerPrefix), err)
	}
	return nil
}
