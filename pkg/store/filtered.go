package store

import (
	"context"

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
