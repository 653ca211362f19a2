package content

import (
	"testing"

	"github.com/containerd/errdefs"
	"github.com/dgraph-io/badger/v4"
	"github.com/opencontainers/go-digest"
)

// A collection's deletion spares a blob a lease holds by now; a client's
// deletion does not ask.
func TestCollectionSparesHeldBlob(t *testing.T) {
	s := newStore(t)
	put := func(data string) digest.Digest {
		dgst := digest.FromString(data)
		w, err := s.Writer(ctx, "ref-"+data, 0, "")
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(data))
		if err := w.Commit(ctx, 0, dgst.String(), nil); err != nil {
			t.Fatal(err)
		}
		return dgst
	}
	held, free := put("held"), put("free")
	s.Held = func(_ *badger.Txn, ns string, d digest.Digest) (bool, error) { return ns == "test" && d == held, nil }
	for _, d := range []digest.Digest{held, free} {
		if err := s.DeleteInNamespace(ctx, "test", d); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Info(ctx, held.String()); err != nil {
		t.Fatalf("the held blob was collected: %v", err)
	}
	if _, err := s.Info(ctx, free.String()); !errdefs.IsNotFound(err) {
		t.Fatalf("the free blob: %v, want it collected", err)
	}
	if err := s.Delete(ctx, held.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Info(ctx, held.String()); !errdefs.IsNotFound(err) {
		t.Fatalf("a client's delete of a held blob: %v, want it gone", err)
	}
}
