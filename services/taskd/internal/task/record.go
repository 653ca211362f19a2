package task

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// A task's record tells a restarted taskd which shims to find.
type record struct {
	NS      string `json:"ns"`
	ID      string `json:"id"`
	Bundle  string `json:"bundle"`
	Rootfs  string `json:"rootfs"`
	Runtime string `json:"runtime"`
}

const recordPrefix = "task/"

func putRecord(txn *badger.Txn, t *Task) error {
	b, _ := json.Marshal(record{NS: t.NS, ID: t.ID, Bundle: t.Bundle, Rootfs: t.Rootfs, Runtime: t.Runtime})
	return txn.Set([]byte(recordPrefix+t.NS+"/"+t.ID), b)
}

func deleteRecord(txn *badger.Txn, t *Task) error {
	return txn.Delete([]byte(recordPrefix + t.NS + "/" + t.ID))
}

func records(db *badger.DB) ([]record, error) {
	var out []record
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(recordPrefix), PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var r record
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &r) }); err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// exitMarker records that an exit was published, so it never is twice.
func exitMarker(ns, id, execID string, pid int) []byte {
	return []byte(fmt.Sprintf("exitpub/%s/%s/%s/%d", ns, id, execID, pid))
}

func exitMarkerPrefix(ns, id string) string { return "exitpub/" + ns + "/" + id + "/" }

func hasPrefix(k []byte, p string) bool { return strings.HasPrefix(string(k), p) }
