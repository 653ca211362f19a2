package content

import (
	"errors"
	"fmt"
	"testing"

	"github.com/containerd/errdefs"

	"berth.dev/pkg/namespace"
)

// TestOpenIngestsBoundedPerNamespace: writes opened and never finished stop
// at MaxOpenIngests with ResourceExhausted in their namespace only, and a
// closed write frees its slot.
func TestOpenIngestsBoundedPerNamespace(t *testing.T) {
	s := newStore(t)
	var open []*Writer
	t.Cleanup(func() {
		for _, w := range open {
			w.Close()
		}
	})
	for i := 0; i < MaxOpenIngests; i++ {
		w, err := s.Writer(ctx, fmt.Sprintf("ref-%d", i), 0, "")
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		open = append(open, w)
	}
	if _, err := s.Writer(ctx, "one-too-many", 0, ""); !errors.Is(err, errdefs.ErrResourceExhausted) {
		t.Fatalf("write %d: got %v, want resource exhausted", MaxOpenIngests+1, err)
	}
	other := namespace.WithNamespace(ctx, "other")
	w, err := s.Writer(other, "ref-0", 0, "")
	if err != nil {
		t.Fatalf("another namespace: %v", err)
	}
	w.Close()
	open[0].Close()
	open = open[1:]
	w, err = s.Writer(ctx, "after-close", 0, "")
	if err != nil {
		t.Fatalf("after a close: %v", err)
	}
	open = append(open, w)
}
