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
