package store

import (
	"context"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	"berth.dev/pkg/filters"
	"berth.dev/pkg/namespace"
)

// ListFiltered returns the records of the namespace of ctx (under
// prefix(ns)) that pass containerd filter expressions fs, whose fields
// adapt reads: the listing every record store of containerd's API does.
func ListFiltered[M proto.Message](ctx context.Context, db *badger.DB, prefix func(ns string) string, newMsg func() M, fs []string, adapt func(M) filters.Adaptor) ([]M, error) {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return nil, err
	}
	f, err := filters.Parse(fs...)
	if err != nil {
		return nil, err
	}
	return List(db, prefix(ns), newMsg, func(m M) bool { return f.Match(adapt(m)) })
}

// EachEncodedFiltered calls fn with the encoding of every record
// ListFiltered would return, in the same order, for a caller that sends
// records on without reading them: a record is decoded only when there are
// filters to match. encoded is valid only during fn, which runs inside the
// store's read transaction and so must not wait on anything.
func EachEncodedFiltered[M proto.Message](ctx context.Context, db *badger.DB, prefix func(ns string) string, newMsg func() M, fs []string, adapt func(M) filters.Adaptor, fn func(encoded []byte)) error {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return err
	}
	f, err := filters.Parse(fs...)
	if err != nil {
		return err
	}
	all := filters.MatchesEverything(f)
	return db.View(func(txn *badger.Txn) error {
		return EachEncoded(txn, prefix(ns), func(key, value []byte) error {
			if !all {
				m := newMsg()
				if err := proto.Unmarshal(value, m); err != nil {
					return fmt.Errorf("decode %s: %w", key, err)
				}
				if !f.Match(adapt(m)) {
					return nil
				}
			}
			fn(value)
			return nil
		})
	})
}
