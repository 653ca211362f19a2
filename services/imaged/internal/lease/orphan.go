package lease

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/dgraph-io/badger/v4"

	"berth.dev/pkg/lease"
	"berth.dev/pkg/store"
)

// A temporary lease (one with a gc.expire label) created through the node
// socket remembers the connection that created it, and follows it: when the
// gateway reports that connection closed after writing under the lease (a
// pull's lease; one made by `ctr leases create` to hold things for a while
// is not written under and stays), or restarts while the connection was
// open and so cuts it off, the lease is marked orphaned; if nothing is
// written under it for the grace period after that, it ends. An
// interrupted client-side pull then no longer pins its blobs and snapshots
// until the lease's gc.expire label (24 hours for ctr) runs out. A client
// that comes back and writes under the lease within the grace period keeps
// it.

// DefaultGrace is how long an orphaned lease lives on without activity.
const DefaultGrace = 5 * time.Minute

type owner struct {
	Client string `json:"client"`
	// Used is set once the creating connection wrote under the lease.
	Used bool `json:"used,omitempty"`
	// Orphaned is when the client was reported gone (Unix nanoseconds);
	// zero while it is there.
	Orphaned int64 `json:"orphaned,omitempty"`
	// Departed is set when the client closed its connection without
	// having written under the lease: it was made to hold things for a
	// while (`ctr leases create`) and stays until deleted or expired.
	Departed bool `json:"departed,omitempty"`
}

const ownerPrefix = "leaseowner/"

func ownerKey(ns, id string) string { return ownerPrefix + ns + "/" + id }

func getOwner(txn *badger.Txn, k string) (*owner, error) {
	it, err := txn.Get([]byte(k))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	o := &owner{}
	return o, it.Value(func(b []byte) error { return json.Unmarshal(b, o) })
}

func putOwner(txn *badger.Txn, k string, o *owner) error {
	b, err := json.Marshal(o)
	if err != nil {
		return err
	}
	return txn.Set([]byte(k), b)
}

// recordOwner ties a new lease to the client connection of ctx, if the call
// came through the gateway.
func recordOwner(ctx context.Context, txn *badger.Txn, ns, id string) error {
	client, ok := lease.ClientFromContext(ctx)
	if !ok {
		return nil
	}
	return putOwner(txn, ownerKey(ns, id), &owner{Client: client})
}

// touch records activity under a lease: the creating connection's first
// write ties the lease to it, and an orphaned lease that is written under
// again belongs to the client writing.
func touch(ctx context.Context, txn *badger.Txn, ns, id string) error {
	k := ownerKey(ns, id)
	o, err := getOwner(txn, k)
	if err != nil || o == nil {
		return err
	}
	client, _ := lease.ClientFromContext(ctx)
	switch {
	case o.Orphaned != 0:
		// The client writing now owns the lease and it follows them.
		o.Orphaned = 0
		if client != "" {
			o.Client = client
			o.Used = true
		}
	case !o.Used && client == o.Client:
		o.Used = true
	default:
		return nil
	}
	return putOwner(txn, k, o)
}

// ClientsGone marks orphaned every lease whose client is among clients
// (connections their clients closed) and wrote under it, and, when boot is
// set, every lease whose client belongs to a gateway boot other than boot
// and had not closed its connection: a restart of the gateway cut it off
// in the middle of whatever it was doing (a lease it created and never got
// the answer to, or whose delete found the gateway down, would otherwise
// hold until its expiry). A lease its client never wrote under and left
// behind by closing its connection is marked departed, and kept. It
// reports whether any lease was newly orphaned.
func (s *Store) ClientsGone(boot string, clients []string, now time.Time) (bool, error) {
	marked, _, err := s.clientsGone(boot, clients, now)
	return marked, err
}

// LeftBehind is ClientsGone that also counts the leases newly marked
// departed.
func (s *Store) LeftBehind(boot string, clients []string, now time.Time) (orphaned bool, departed int, err error) {
	return s.clientsGone(boot, clients, now)
}

func (s *Store) clientsGone(boot string, clients []string, now time.Time) (bool, int, error) {
	gone := make(map[string]bool, len(clients))
	for _, c := range clients {
		gone[c] = true
	}
	var keys []string
	if err := s.db.View(func(txn *badger.Txn) error {
		keys = store.Keys(txn, ownerPrefix)
		return nil
	}); err != nil {
		return false, 0, err
	}
	// Each lease's mark is its own write: a node with more leases than a
	// transaction takes has them marked in several.
	marked, departed := false, 0
	err := store.UpdateInBatches(context.Background(), s.db, keys, func(txn *badger.Txn, k string) error {
		o, err := getOwner(txn, k)
		if err != nil || o == nil || o.Orphaned != 0 || o.Departed {
			return err
		}
		switch {
		case gone[o.Client] && !o.Used:
			o.Departed = true
			if err := putOwner(txn, k, o); err != nil {
				return err
			}
			departed++
			return nil
		case gone[o.Client]:
		case boot != "" && !strings.HasPrefix(o.Client, boot+"."):
		default:
			return nil
		}
		o.Orphaned = now.UnixNano()
		if err := putOwner(txn, k, o); err != nil {
			return err
		}
		marked = true
		return nil
	})
	return marked, departed, err
}

// GracePeriod is how long an orphaned lease lives on without activity.
func (s *Store) GracePeriod() time.Duration {
	if s.Grace <= 0 {
		return DefaultGrace
	}
	return s.Grace
}

// EndOrphans deletes every lease orphaned for longer than the grace period,
// with what it holds, and returns how many ended. The collector calls it
// before marking, so what those leases held is then collected.
func (s *Store) EndOrphans(now time.Time) (int, error) {
	grace := s.GracePeriod()
	orphaned := func(txn *badger.Txn, k string) (bool, error) {
		o, err := getOwner(txn, k)
		if err != nil || o == nil {
			return false, err
		}
		return o.Orphaned != 0 && now.Sub(time.Unix(0, o.Orphaned)) >= grace, nil
	}
	var ending []string
	if err := s.db.View(func(txn *badger.Txn) error {
		for _, k := range store.Keys(txn, ownerPrefix) {
			end, err := orphaned(txn, k)
			if err != nil {
				return err
			}
			if end {
				ending = append(ending, k)
			}
		}
		return nil
	}); err != nil {
		return 0, err
	}
	// One lease at a time, each checked again in the transaction that
	// ends it: a client that came back meanwhile keeps its lease.
	ended := 0
	for _, k := range ending {
		ns, id, ok := strings.Cut(strings.TrimPrefix(k, ownerPrefix), "/")
		if !ok {
			continue
		}
		err := deleteLease(context.Background(), s.db, ns, id, func(txn *badger.Txn) (bool, error) { return orphaned(txn, k) })
		switch {
		case errors.Is(err, errKept):
		case errdefs.IsNotFound(err):
			// The owner record outlived its lease: it goes alone.
			if err := store.Update(context.Background(), s.db, func(txn *badger.Txn) error {
				return txn.Delete([]byte(k))
			}); err != nil {
				return ended, err
			}
			ended++
		case err != nil:
			return ended, err
		default:
			ended++
		}
	}
	return ended, nil
}
