package errand

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	leasesapi "github.com/containerd/containerd/api/services/leases/v1"
	"github.com/containerd/errdefs"
	"github.com/dgraph-io/badger/v4"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"berth.dev/pkg/log"
	"berth.dev/pkg/namespace"
	"berth.dev/pkg/store"
	adminv1 "berth.dev/proto/berth/admin/v1"
)

// Errand is one lease call to finish.
type Errand struct {
	Namespace string `json:"namespace"`
	ID        string `json:"id"`
	// Drop, when set, is a create that failed for Client: imaged drops
	// the lease unless something was written under it. Otherwise the
	// errand is a delete, synchronous (collecting) when Sync is set.
	Drop   bool   `json:"drop,omitempty"`
	Client string `json:"client,omitempty"`
	Sync   bool   `json:"sync,omitempty"`
	// Since is when the errand was recorded (Unix nanoseconds).
	Since int64 `json:"since,omitempty"`
}

const prefix = "leaseerrand/"

func (e Errand) key() string { return prefix + e.Namespace + "/" + e.ID }

// retryEvery paces the tries while imaged does not answer.
const retryEvery = 500 * time.Millisecond

// giveUpAfter is how long an errand is tried: a day, by when the leases
// containerd clients create have expired anyway.
const giveUpAfter = 24 * time.Hour

// tryTimeout bounds one try.
const tryTimeout = 10 * time.Second

// Queue keeps the errands in the gateway's store and runs them against
// imaged.
type Queue struct {
	// mu is held while an errand is tried and settled (BeforeCreate).
	mu     sync.Mutex
	db     *badger.DB
	imaged *grpc.ClientConn
	wake   chan struct{}
}

// New returns a queue storing its errands in db and running them on the
// connection to imaged.
func New(db *badger.DB, imaged *grpc.ClientConn) *Queue {
	return &Queue{db: db, imaged: imaged, wake: make(chan struct{}, 1)}
}

// Add records e and has it run. A later errand for the same lease
// replaces an earlier one.
func (q *Queue) Add(ctx context.Context, e Errand) error {
	if e.Since == 0 {
		e.Since = time.Now().UnixNano()
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := store.Update(context.WithoutCancel(ctx), q.db, func(txn *badger.Txn) error {
		return txn.Set([]byte(e.key()), b)
	}); err != nil {
		return err
	}
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return nil
}

// BeforeCreate settles the errand pending for lease ns/id before a new
// create of it goes to imaged. A delete imaged may not have taken is
// finished first: the client asked for it before this create, and run
// after it, it would delete the lease just made. It fails, and so should
// the create, while imaged does not answer. A drop is forgotten when the
// create is its client's again (follows: what imaged answers that create,
// AlreadyExists when the failed create did make it, is what the client
// knows of it); another's create leaves it, imaged dropping only a lease of
// the client whose create failed.
func (q *Queue) BeforeCreate(ctx context.Context, ns, id string, follows bool) error {
	k := Errand{Namespace: ns, ID: id}.key()
	var pending bool
	q.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get([]byte(k))
		pending = err == nil
		return nil
	})
	if !pending {
		return nil
	}
	// Not while Run tries the errand: a drop or delete it read before
	// this create must not reach imaged after it.
	q.mu.Lock()
	defer q.mu.Unlock()
	var e *Errand
	if err := q.db.View(func(txn *badger.Txn) (err error) {
		e, err = get(txn, k)
		return err
	}); err != nil || e == nil {
		return err
	}
	if e.Drop {
		if !follows {
			return nil
		}
		err := store.Update(ctx, q.db, func(txn *badger.Txn) error {
			cur, err := get(txn, k)
			if err != nil || cur == nil || !cur.Drop {
				return err
			}
			return txn.Delete([]byte(k))
		})
		if err != nil {
			log.G(ctx).Warn("forget a lease drop", zap.String("namespace", ns), zap.String("id", id), zap.Error(err))
		}
		return nil
	}
	if err := q.try(ctx, *e); err != nil {
		return fmt.Errorf("an earlier delete of lease %q is not finished: %v: %w", id, err, errdefs.ErrUnavailable)
	}
	q.done(ctx, *e)
	return nil
}

func get(txn *badger.Txn, k string) (*Errand, error) {
	it, err := txn.Get([]byte(k))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	e := &Errand{}
	return e, it.Value(func(b []byte) error { return json.Unmarshal(b, e) })
}

// Run tries the errands until ctx ends: those a gateway killed earlier
// left first, then each new one at once, and those imaged did not answer
// again every retryEvery.
func (q *Queue) Run(ctx context.Context) error {
	for {
		left := q.runAll(ctx)
		var wait <-chan time.Time
		if left {
			wait = time.After(retryEvery)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-q.wake:
		case <-wait:
		}
	}
}

// runAll tries every errand once and reports whether any is left.
func (q *Queue) runAll(ctx context.Context) bool {
	var errands []Errand
	q.db.View(func(txn *badger.Txn) error {
		for _, k := range store.Keys(txn, prefix) {
			if e, err := get(txn, k); err == nil && e != nil {
				errands = append(errands, *e)
			}
		}
		return nil
	})
	left := false
	for _, e := range errands {
		if q.runOne(ctx, e) {
			left = true
		}
	}
	return left
}

// runOne tries e, unless a create of its lease settled it since it was
// read, and reports whether it is left.
func (q *Queue) runOne(ctx context.Context, e Errand) (left bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var cur *Errand
	q.db.View(func(txn *badger.Txn) (err error) {
		cur, err = get(txn, e.key())
		return err
	})
	if cur == nil || *cur != e {
		return cur != nil
	}
	if err := q.try(ctx, e); err != nil {
		if answered(err) {
			// imaged's answer about the request itself: no try would end
			// otherwise.
			log.G(ctx).Warn("imaged refused a lease errand", zap.String("namespace", e.Namespace), zap.String("id", e.ID), zap.Bool("drop", e.Drop), zap.Error(err))
			q.done(ctx, e)
			return false
		}
		if time.Since(time.Unix(0, e.Since)) > giveUpAfter {
			log.G(ctx).Warn("gave up a lease errand", zap.String("namespace", e.Namespace), zap.String("id", e.ID), zap.Bool("drop", e.Drop), zap.Error(err))
			q.done(ctx, e)
			return false
		}
		log.G(ctx).Debug("lease errand not done yet", zap.String("namespace", e.Namespace), zap.String("id", e.ID), zap.Bool("drop", e.Drop), zap.Error(err))
		return true
	}
	q.done(ctx, e)
	return false
}

// try runs e once; nil means it is done.
func (q *Queue) try(ctx context.Context, e Errand) error {
	ctx, cancel := context.WithTimeout(namespace.WithNamespace(ctx, e.Namespace), tryTimeout)
	defer cancel()
	if e.Drop {
		_, err := adminv1.NewAdminClient(q.imaged).LeaseCreateFailed(ctx, &adminv1.LeaseCreateFailedRequest{Namespace: e.Namespace, Id: e.ID, Client: e.Client})
		return err
	}
	_, err := leasesapi.NewLeasesClient(q.imaged).Delete(ctx, &leasesapi.DeleteRequest{ID: e.ID, Sync: e.Sync})
	if status.Code(err) == codes.NotFound || errdefs.IsNotFound(err) {
		return nil
	}
	return err
}

// Uncertain reports whether a lease call that failed with err may or may
// not have been applied (imaged down, killed during it, the caller gone):
// not an answer imaged gave about the request itself.
func Uncertain(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.Canceled, codes.DeadlineExceeded, codes.Aborted, codes.Unknown, codes.Internal:
		return true
	}
	return false
}

// answered reports whether err is imaged's answer about the request (an
// invalid id, a refusal) that no later try would get past: neither an
// uncertain failure nor imaged short of resources for the moment.
func answered(err error) bool {
	return !Uncertain(err) && status.Code(err) != codes.ResourceExhausted
}

// done removes e's record unless a later errand for the lease replaced it.
func (q *Queue) done(ctx context.Context, e Errand) {
	err := store.Update(ctx, q.db, func(txn *badger.Txn) error {
		cur, err := get(txn, e.key())
		if err != nil || cur == nil || *cur != e {
			return err
		}
		return txn.Delete([]byte(e.key()))
	})
	if err != nil {
		log.G(ctx).Warn("record a finished lease errand", zap.String("key", strings.TrimPrefix(e.key(), prefix)), zap.Error(err))
		return
	}
	what := "delete"
	if e.Drop {
		what = "drop of a lease whose create failed"
	}
	log.G(ctx).Info("finished a client's lease "+what, zap.String("namespace", e.Namespace), zap.String("id", e.ID))
}
