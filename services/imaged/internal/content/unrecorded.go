package content

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/opencontainers/go-digest"
)

// RemoveUnrecorded removes what an imaged killed mid-commit or mid-delete
// left on disk: blob files no namespace records (a commit moves the
// ingest's data into blobs/ before it records the blob; a delete drops the
// last record before the file) and ingests whose data such a commit had
// already moved. Nothing lists them and nothing else would ever remove
// them. It is for the daemon's start, before anything writes: a commit in
// flight has exactly that shape. It returns how many it removed.
func (s *Store) RemoveUnrecorded() (int, error) {
	recorded := map[string]bool{}
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte("content/")})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := string(it.Item().Key())
			recorded[k[strings.LastIndexByte(k, '/')+1:]] = true
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	removed := 0
	dir := filepath.Join(s.root, "blobs", string(digest.SHA256))
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !recorded[digest.NewDigestFromEncoded(digest.SHA256, e.Name()).String()] {
			if os.Remove(filepath.Join(dir, e.Name())) == nil {
				removed++
			}
		}
	}
	ingests, _ := filepath.Glob(filepath.Join(s.root, "ingest", "*"))
	for _, in := range ingests {
		if _, err := os.Stat(filepath.Join(in, "data")); os.IsNotExist(err) {
			if os.RemoveAll(in) == nil {
				removed++
			}
		}
	}
	return removed, nil
}
