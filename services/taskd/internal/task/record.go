package task

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4"

	"berth.dev/services/taskd/internal/shim"
)

// A task's record tells a restarted taskd which shims to find.
type record struct {
	NS      string `json:"ns"`
	ID      string `json:"id"`
	Bundle  string `json:"bundle"`
	Rootfs  string `json:"rootfs"`
	Runtime string `json:"runtime"`
	// Instance tells this task apart from earlier and later tasks of the
	// same container: a late exit of a deleted task must not be published
	// as one of its successor's.
	Instance string `json:"instance,omitempty"`
}

const recordPrefix = "task/"

func putRecord(txn *badger.Txn, t *Task) error {
	b, _ := json.Marshal(record{NS: t.NS, ID: t.ID, Bundle: t.Bundle, Rootfs: t.Rootfs, Runtime: t.Runtime, Instance: t.instance})
	return txn.Set(recordKey(t.NS, t.ID), b)
}

func recordKey(ns, id string) []byte { return []byte(recordPrefix + ns + "/" + id) }

// liveRecord reports whether the record of t's own instance is still there:
// once the task is deleted (or replaced by a new task of the container) no
// exit of it may be recorded any more.
func liveRecord(txn *badger.Txn, t *Task) (bool, error) {
	item, err := txn.Get(recordKey(t.NS, t.ID))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var r record
	if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &r) }); err != nil {
		return false, err
	}
	return r.Instance == t.instance, nil
}

// newInstance returns a random task instance id.
func newInstance() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func deleteRecord(txn *badger.Txn, t *Task) error {
	return txn.Delete(recordKey(t.NS, t.ID))
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

// exitKey names one exit of one task instance, for the event's id.
func exitKey(t *Task, e shim.Exit) string {
	return fmt.Sprintf("exit/%s/%s/%s/%s/%d", t.NS, t.ID, t.instance, e.ExecID, e.Pid)
}

func exitMarkerPrefix(ns, id string) string { return "exitpub/" + ns + "/" + id + "/" }

func hasPrefix(k []byte, p string) bool { return strings.HasPrefix(string(k), p) }
