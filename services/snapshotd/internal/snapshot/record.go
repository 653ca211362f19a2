package snapshot

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	api "github.com/containerd/containerd/api/services/snapshots/v1"
	"github.com/containerd/errdefs"
	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// record is a snapshot's metadata.
type record struct {
	ID      uint64            `json:"id"`
	Kind    api.Kind          `json:"kind"`
	Parent  string            `json:"parent,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	Created time.Time         `json:"created"`
	Updated time.Time         `json:"updated"`
	// Size is the disk usage measured at commit.
	Size   int64 `json:"size,omitempty"`
	Inodes int64 `json:"inodes,omitempty"`
}

// Prefix is the record prefix of one snapshotter's snapshots in ns.
func Prefix(snapshotter, ns string) string { return "snap/" + snapshotter + "/" + ns + "/" }

func recordKey(snapshotter, ns, key string) []byte { return []byte(Prefix(snapshotter, ns) + key) }

func getRecord(txn *badger.Txn, snapshotter, ns, key string) (*record, error) {
	item, err := txn.Get(recordKey(snapshotter, ns, key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, fmt.Errorf("snapshot %q: %w", key, errdefs.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	r := &record{}
	return r, item.Value(func(v []byte) error { return json.Unmarshal(v, r) })
}

func putRecord(txn *badger.Txn, snapshotter, ns, key string, r *record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return txn.Set(recordKey(snapshotter, ns, key), b)
}

func eachRecord(txn *badger.Txn, snapshotter, ns string, fn func(key string, r *record) error) error {
	p := Prefix(snapshotter, ns)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(p), PrefetchValues: true})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		r := &record{}
		if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, r) }); err != nil {
			return err
		}
		if err := fn(string(it.Item().Key())[len(p):], r); err != nil {
			return err
		}
	}
	return nil
}

func (r *record) info(key string) *api.Info {
	return &api.Info{Name: key, Parent: r.Parent, Kind: r.Kind, Labels: r.Labels,
		CreatedAt: timestamppb.New(r.Created), UpdatedAt: timestamppb.New(r.Updated)}
}
