package content

import (
	"context"
	"testing"

	pkglease "berth.dev/pkg/lease"
	"berth.dev/pkg/namespace"
)

// TestIngestsOfEndedLeasesJudgedOnceForAllNamespaces: one call judges the
// ingests of every namespace, asking about each ingest's lease once (the
// collector used to read every ingest's metadata once per namespace), and
// removes those of ended leases whatever their namespace.
func TestIngestsOfEndedLeasesJudgedOnceForAllNamespaces(t *testing.T) {
	s := newStore(t)
	for _, ns := range []string{"ing-a", "ing-b"} {
		for _, l := range []string{"ended", "live"} {
			ctx := pkglease.WithLease(ClientWrite(namespace.WithNamespace(context.Background(), ns)), l)
			w, err := s.Writer(ctx, ns+"-"+l, 0, "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write([]byte("partial")); err != nil {
				t.Fatal(err)
			}
			w.Close()
		}
	}
	asked := map[string]int{}
	n := s.RemoveIngestsOfEndedLeases(func(ns, l string) bool {
		asked[ns+"/"+l]++
		return l == "ended"
	})
	if n != 2 {
		t.Errorf("%d ingests removed, want the 2 of ended leases", n)
	}
	for _, k := range []string{"ing-a/ended", "ing-a/live", "ing-b/ended", "ing-b/live"} {
		if asked[k] != 1 {
			t.Errorf("lease %s asked about %d times, want once", k, asked[k])
		}
	}
	for _, ns := range []string{"ing-a", "ing-b"} {
		sts, err := s.ListStatuses(namespace.WithNamespace(context.Background(), ns))
		if err != nil {
			t.Fatal(err)
		}
		if len(sts) != 1 || sts[0].Ref != ns+"-live" {
			t.Errorf("ingests left in %s: %+v, want only %s-live", ns, sts, ns)
		}
	}
}
