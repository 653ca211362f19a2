package task

import (
	"fmt"
	"testing"

	"github.com/containerd/errdefs"
)

func TestLostShimOfATaskBeingDeletedIsNotFound(t *testing.T) {
	lost := fmt.Errorf("shim connection lost: %w", errdefs.ErrUnavailable)
	task := &Task{ID: "c1"}
	if err := task.gone(lost); !errdefs.IsUnavailable(err) {
		t.Fatalf("a live task's lost shim: %v, want Unavailable", err)
	}
	task.deleting.Store(true)
	if err := task.gone(lost); !errdefs.IsNotFound(err) {
		t.Fatalf("a deleted task's lost shim: %v, want NotFound", err)
	}
	if err := task.gone(fmt.Errorf("bad signal: %w", errdefs.ErrInvalidArgument)); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("other errors change: %v", err)
	}
	if task.gone(nil) != nil {
		t.Fatal("no error became one")
	}
}

// TestTaskRootsAreTheRuntimesRoots: the scan for unrecorded tasks reads
// <root>/<ns>/<id> under each root; the state directory itself is none of
// them (its shims/<ns> and crun/<ns> would pass for tasks).
func TestTaskRootsAreTheRuntimesRoots(t *testing.T) {
	m := &Manager{cfg: Config{StateDir: "/run/berth/shims", RuncRoot: "/run/berth/runc"}}
	if got := fmt.Sprint(m.taskRoots()); got != "[/run/berth/shims /run/berth/runc /run/berth/crun]" {
		t.Fatalf("task roots %s", got)
	}
}
