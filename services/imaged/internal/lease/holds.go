package lease

import (
	"strings"
	"time"

	api "github.com/containerd/containerd/api/services/leases/v1"
	"github.com/containerd/errdefs"
	"github.com/dgraph-io/badger/v4"

	"berth.dev/pkg/store"
)

// HoldsContent reports, inside txn, whether a lease of ns that has not
// expired holds the blob dgst.
func HoldsContent(txn *badger.Txn, ns, dgst string) (bool, error) {
	p := "leaseres/" + ns + "/"
	suffix := "\x00content\x00" + dgst
	now := time.Now()
	for _, k := range store.Keys(txn, p) {
		if !strings.HasSuffix(k, suffix) {
			continue
		}
		id, _, _ := strings.Cut(strings.TrimPrefix(k, p), "\x00")
		l := &api.Lease{}
		if err := store.Get(txn, key(ns, id), l); errdefs.IsNotFound(err) {
			continue // a hold whose lease is gone holds nothing
		} else if err != nil {
			return false, err
		}
		if !Expired(l, now) {
			return true, nil
		}
	}
	return false, nil
}
