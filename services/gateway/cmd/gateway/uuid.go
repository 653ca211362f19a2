package gateway

import (
	"crypto/rand"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"berth.dev/pkg/store"
)

var uuidKey = []byte("server/uuid")

// serverUUID returns the node's stable identity, created on first start.
func serverUUID(db *badger.DB) (string, error) {
	id, err := store.ValueOnce(db, uuidKey, func() ([]byte, error) {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
		return fmt.Appendf(nil, "%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]), nil
	})
	return string(id), err
}
