package main

import (
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

var uuidKey = []byte("server/uuid")

// serverUUID returns the node's stable identity, created on first start.
func serverUUID(db *badger.DB) (string, error) {
	var id string
	err := db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(uuidKey)
		if err == nil {
			return item.Value(func(v []byte) error { id = string(v); return nil })
		}
		if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
		id = fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
		return txn.Set(uuidKey, []byte(id))
	})
	return id, err
}
