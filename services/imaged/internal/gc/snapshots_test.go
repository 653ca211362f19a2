package gc

import (
	"fmt"
	"testing"

	snapshotsapi "github.com/containerd/containerd/api/services/snapshots/v1"
)

func TestUnreferencedRemovesChildrenFirstAndKeepsAncestry(t *testing.T) {
	infos := []*snapshotsapi.Info{
		{Name: "l1"}, {Name: "l2", Parent: "l1"}, {Name: "l3", Parent: "l2"},
		{Name: "o1"}, {Name: "o2", Parent: "o1"}, {Name: "view", Parent: "o2"},
	}
	got := unreferenced(infos, map[string]bool{"l2": true})
	if fmt.Sprint(got) != "[l3 view o2 o1]" {
		t.Fatalf("removal order %v", got)
	}
	infos = append(infos, &snapshotsapi.Info{Name: "manual", Labels: map[string]string{rootLabel: "2026-01-01T00:00:00Z"}})
	if got := unreferenced(infos, map[string]bool{"l3": true, "view": true}); len(got) != 0 {
		t.Fatalf("removed referenced snapshots %v", got)
	}
}
