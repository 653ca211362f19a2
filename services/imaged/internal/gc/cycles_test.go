package gc

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"

	"berth.dev/pkg/namespace"
)

// TestCollectTerminatesOnCyclesAndDeepChains: content is addressed by its
// digest, so a blob cannot name itself in its bytes, but labels can form
// any graph. A 500-deep chain of gc.ref labels whose end points back to
// its start, plus an index naming itself through a label, must be walked
// once, kept whole, and an unreferenced blob beside them collected.
func TestCollectTerminatesOnCyclesAndDeepChains(t *testing.T) {
	db, cs := newStores(t)
	ctx := namespace.WithNamespace(context.Background(), "gc-cycles")
	put := func(data string, lbls map[string]string) digest.Digest {
		t.Helper()
		d := digest.FromString(data)
		w, err := cs.Writer(ctx, "ref-"+d.Encoded(), int64(len(data)), d.String())
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if _, err := w.Write([]byte(data)); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(ctx, int64(len(data)), d.String(), lbls); err != nil {
			t.Fatal(err)
		}
		return d
	}
	const depth = 500
	first := digest.FromString("blob-0")
	chain := []digest.Digest{}
	for i := depth - 1; i >= 0; i-- {
		next := first // the last links back to the first
		if len(chain) > 0 {
			next = chain[len(chain)-1]
		}
		lbls := map[string]string{"containerd.io/gc.ref.content.next": next.String()}
		if i == 0 {
			lbls["containerd.io/gc.root"] = "yes"
		}
		chain = append(chain, put(fmt.Sprintf("blob-%d", i), lbls))
	}
	self := fmt.Sprintf(`{"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":%q}]}`, chain[0])
	selfDgst := digest.FromString(self)
	put(self, map[string]string{"containerd.io/gc.root": "yes", "containerd.io/gc.ref.content.self": selfDgst.String()})
	orphan := put("orphan", nil)

	c := &Collector{DB: db, Content: cs}
	if err := c.Collect(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i, d := range append(chain, selfDgst) {
		if _, err := cs.Info(ctx, d.String()); err != nil {
			t.Fatalf("blob %d (%s) was collected: %v", i, d, err)
		}
	}
	if _, err := cs.Info(ctx, orphan.String()); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("orphan: %v, want not found", err)
	}
}
