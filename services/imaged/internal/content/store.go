package content

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	api "github.com/containerd/containerd/api/services/content/v1"
	"github.com/containerd/errdefs"
	"github.com/dgraph-io/badger/v4"
	"github.com/opencontainers/go-digest"
	"google.golang.org/protobuf/types/known/timestamppb"

	"berth.dev/pkg/events"
	"berth.dev/pkg/filters"
	"berth.dev/pkg/labels"
	"berth.dev/pkg/namespace"
	"berth.dev/pkg/store"
)

// Store is the content store.
type Store struct {
	root   string
	db     *badger.DB
	outbox *events.Outbox
	// OnCommit, when set, runs inside the commit transaction (the lease
	// store adds the blob to the caller's lease there).
	OnCommit func(ctx context.Context, txn *badger.Txn, ns string, dgst digest.Digest) error

	// IngestTimeout is how long an ingest lives with nothing written to
	// it (DefaultIngestTimeout when zero): see ExpireIngests.
	IngestTimeout time.Duration

	mu    sync.Mutex
	locks map[string]*held // held ingest dirs
}

// held is an ingest taken by a writer.
type held struct {
	ns string
	w  *Writer // nil while it opens
}

// New opens the store rooted at root.
func New(root string, db *badger.DB, outbox *events.Outbox) (*Store, error) {
	for _, d := range []string{"blobs/sha256", "ingest"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			return nil, err
		}
	}
	return &Store{root: root, db: db, outbox: outbox, locks: map[string]*held{}}, nil
}

// Key returns the record key of a blob in a namespace.
func Key(ns string, dgst digest.Digest) string { return "content/" + ns + "/" + dgst.String() }

// Prefix returns the record prefix of a namespace.
func Prefix(ns string) string { return "content/" + ns + "/" }

func (s *Store) blobPath(dgst digest.Digest) string {
	return filepath.Join(s.root, "blobs", dgst.Algorithm().String(), dgst.Encoded())
}

func parseDigest(d string) (digest.Digest, error) {
	dgst, err := digest.Parse(d)
	if err != nil {
		return "", fmt.Errorf("digest %q: %v: %w", d, err, errdefs.ErrInvalidArgument)
	}
	return dgst, nil
}

// Info returns a blob's record in the caller's namespace.
func (s *Store) Info(ctx context.Context, d string) (*api.Info, error) {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return nil, err
	}
	dgst, err := parseDigest(d)
	if err != nil {
		return nil, err
	}
	info := &api.Info{}
	err = s.db.View(func(txn *badger.Txn) error { return store.Get(txn, Key(ns, dgst), info) })
	if err != nil {
		return nil, fmt.Errorf("content %s: %w", dgst, err)
	}
	return info, nil
}

// Update changes a blob's labels.
func (s *Store) Update(ctx context.Context, in *api.Info, paths []string) (*api.Info, error) {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return nil, err
	}
	dgst, err := parseDigest(in.Digest)
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		paths = []string{"labels"}
	}
	out := &api.Info{}
	err = s.outbox.Update(ctx, func(txn *badger.Txn, _ *events.Recorder) error {
		if err := store.Get(txn, Key(ns, dgst), out); err != nil {
			return fmt.Errorf("content %s: %w", dgst, err)
		}
		var rest []string
		out.Labels, rest = labels.Update(out.Labels, in.Labels, paths)
		if len(rest) > 0 {
			return labels.Unsupported(rest[0], "content")
		}
		if err := labels.Validate(out.Labels); err != nil {
			return err
		}
		out.UpdatedAt = timestamppb.Now()
		return store.Put(txn, Key(ns, dgst), out)
	})
	return out, err
}

// List returns the blobs of the caller's namespace matching filters.
func (s *Store) List(ctx context.Context, fs ...string) ([]*api.Info, error) {
	return store.ListFiltered(ctx, s.db, Prefix, func() *api.Info { return &api.Info{} }, fs,
		func(info *api.Info) filters.Adaptor { return infoAdaptor{info} })
}

type infoAdaptor struct{ i *api.Info }

func (a infoAdaptor) Field(path []string) (string, bool) {
	switch path[0] {
	case "digest":
		return a.i.Digest, true
	case "size":
		return fmt.Sprint(a.i.Size), true
	case "labels":
		return filters.LabelsAdaptor(a.i.Labels, path)
	}
	return "", false
}

// Delete removes a blob from the caller's namespace, and from disk when no
// namespace holds it any more.
func (s *Store) Delete(ctx context.Context, d string) error {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return err
	}
	dgst, err := parseDigest(d)
	if err != nil {
		return err
	}
	return s.delete(ctx, ns, dgst)
}

func (s *Store) delete(ctx context.Context, ns string, dgst digest.Digest) error {
	_, err := s.deleteUnless(ctx, ns, dgst, nil)
	return err
}

// deleteUnless removes a blob record of ns unless keep, asked inside the
// deleting transaction, says it must stay; it reports whether it deleted.
func (s *Store) deleteUnless(ctx context.Context, ns string, dgst digest.Digest, keep func(*badger.Txn, *api.Info) (bool, error)) (bool, error) {
	var orphan, kept bool
	err := s.outbox.Update(ctx, func(txn *badger.Txn, rec *events.Recorder) error {
		if keep != nil {
			cur := &api.Info{}
			if err := store.Get(txn, Key(ns, dgst), cur); err != nil {
				return fmt.Errorf("content %s: %w", dgst, err)
			}
			var err error
			if kept, err = keep(txn, cur); err != nil || kept {
				return err
			}
		}
		if err := store.Delete(txn, Key(ns, dgst)); err != nil {
			return fmt.Errorf("content %s: %w", dgst, err)
		}
		held, err := s.heldElsewhere(txn, dgst)
		orphan = !held
		if err != nil {
			return err
		}
		return rec.Add(ns, events.TopicContentDelete, &apievents.ContentDelete{Digest: dgst.String()})
	})
	if err != nil || kept {
		return false, err
	}
	if orphan {
		if err := os.Remove(s.blobPath(dgst)); err != nil && !os.IsNotExist(err) {
			return true, fmt.Errorf("remove blob %s: %w", dgst, err)
		}
	}
	return true, nil
}

// heldElsewhere reports whether any namespace still records dgst.
func (s *Store) heldElsewhere(txn *badger.Txn, dgst digest.Digest) (bool, error) {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte("content/")})
	defer it.Close()
	suffix := "/" + dgst.String()
	for it.Rewind(); it.Valid(); it.Next() {
		k := string(it.Item().Key())
		if len(k) > len(suffix) && k[len(k)-len(suffix):] == suffix {
			return true, nil
		}
	}
	return false, nil
}

// Open returns a reader of a blob visible in the caller's namespace.
func (s *Store) Open(ctx context.Context, d string) (*os.File, *api.Info, error) {
	info, err := s.Info(ctx, d)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.Open(s.blobPath(digest.Digest(info.Digest)))
	if err != nil {
		return nil, nil, fmt.Errorf("content %s: blob missing on disk: %v: %w", info.Digest, err, errdefs.ErrDataLoss)
	}
	return f, info, nil
}

// DeleteInNamespace removes a blob record of ns (for garbage collection)
// unless keep, asked in the same transaction as the removal, says the blob
// is referenced now; it reports whether it removed the blob.
func (s *Store) DeleteInNamespace(ctx context.Context, ns string, dgst digest.Digest, keep func(*badger.Txn, *api.Info) (bool, error)) (bool, error) {
	return s.deleteUnless(ctx, ns, dgst, keep)
}
