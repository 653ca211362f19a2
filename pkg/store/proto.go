package store

import (
	"errors"
	"fmt"

	"github.com/containerd/errdefs"
	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"
)

// Get reads the record at key into m; a missing key is errdefs.ErrNotFound.
func Get(txn *badger.Txn, key string, m proto.Message) error {
	item, err := txn.Get([]byte(key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return errdefs.ErrNotFound
	}
	if err != nil {
		return err
	}
	return item.Value(func(v []byte) error { return proto.Unmarshal(v, m) })
}

// Exists reports whether key holds a record.
func Exists(txn *badger.Txn, key string) (bool, error) {
	_, err := txn.Get([]byte(key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Put writes m at key.
func Put(txn *badger.Txn, key string, m proto.Message) error {
	data, err := proto.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	return txn.Set([]byte(key), data)
}

// Delete removes key; a missing key is errdefs.ErrNotFound.
func Delete(txn *badger.Txn, key string) error {
	if ok, err := Exists(txn, key); err != nil {
		return err
	} else if !ok {
		return errdefs.ErrNotFound
	}
	return txn.Delete([]byte(key))
}

// Each decodes every record under prefix, in key order, calling fn with the
// key and a fresh message from newMsg.
func Each[M proto.Message](txn *badger.Txn, prefix string, newMsg func() M, fn func(key string, m M) error) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefix), PrefetchValues: true, PrefetchSize: 64})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		m := newMsg()
		item := it.Item()
		if err := item.Value(func(v []byte) error { return proto.Unmarshal(v, m) }); err != nil {
			return fmt.Errorf("decode %s: %w", item.Key(), err)
		}
		if err := fn(string(item.Key()), m); err != nil {
			return err
		}
	}
	return nil
}

// EachEncoded calls fn with the encoded value of every record under
// prefix, in key order, decoding nothing. value is valid only during fn.
func EachEncoded(txn *badger.Txn, prefix string, fn func(key, value []byte) error) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefix), PrefetchValues: false})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		if err := item.Value(func(v []byte) error { return fn(item.Key(), v) }); err != nil {
			return err
		}
	}
	return nil
}

// Keys lists the keys under prefix.
func Keys(txn *badger.Txn, prefix string) []string {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefix)})
	defer it.Close()
	var out []string
	for it.Rewind(); it.Valid(); it.Next() {
		out = append(out, string(it.Item().Key()))
	}
	return out
}

// List returns the records under prefix that keep accepts (all of them
// when keep is nil), in key order.
func List[M proto.Message](db *badger.DB, prefix string, newMsg func() M, keep func(M) bool) ([]M, error) {
	var out []M
	err := db.View(func(txn *badger.Txn) error {
		return Each(txn, prefix, newMsg, func(_ string, m M) error {
			if keep == nil || keep(m) {
				out = append(out, m)
			}
			return nil
		})
	})
	return out, err
}
