package store

import (
	"errors"

	"github.com/dgraph-io/badger/v4"
)

// ValueOnce returns the value stored at key, storing create's result there
// first if the key is absent: for identities made once per database, like
// the node's UUID.
func ValueOnce(db *badger.DB, key []byte, create func() ([]byte, error)) ([]byte, error) {
	var val []byte
	err := db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err == nil {
			val, err = item.ValueCopy(nil)
			return err
		}
		if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		if val, err = create(); err != nil {
			return err
		}
		return txn.Set(key, val)
	})
	return val, err
}
