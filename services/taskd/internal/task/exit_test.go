package task

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/dgraph-io/badger/v4"
	"go.uber.org/zap"

	"berth.dev/pkg/events"
	"berth.dev/pkg/namespace"
	"berth.dev/pkg/store"
	"berth.dev/services/taskd/internal/container"
	"berth.dev/services/taskd/internal/shim"
)

// newTestManager is a manager over a fresh store, without shims.
func newTestManager(t *testing.T) (*Manager, *events.Outbox) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "db"), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ob, err := events.NewOutbox(db, "taskd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ob.Close() })
	return New(context.Background(), Config{}, db, ob, container.New(db, ob)), ob
}

func recordTask(t *testing.T, m *Manager, task *Task) {
	t.Helper()
	err := m.outbox.Update(context.Background(), func(txn *badger.Txn, _ *events.Recorder) error { return putRecord(txn, task) })
	if err != nil {
		t.Fatal(err)
	}
}

func pending(t *testing.T, ob *events.Outbox) int {
	t.Helper()
	n, err := ob.Pending()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLateExitAfterDeleteIsNotPublishedAgain replays the order that
// published an exec'd container's exit twice: Delete publishes the exit it
// got from the shim and then drops the task's record and exit markers; the
// monitor, whose Wait returned only after the shim synced its exit log,
// publishes the same exit after that.
func TestLateExitAfterDeleteIsNotPublishedAgain(t *testing.T) {
	m, ob := newTestManager(t)
	task := &Task{NS: "ns", ID: "c1", instance: newInstance()}
	recordTask(t, m, task)
	exit := shim.Exit{Pid: 4242, Status: 137, ExitedAt: time.Now()}
	m.publishExit(task, exit) // Delete
	m.publishExit(task, exit) // the monitor, before Delete went on
	if err := m.recordDeleted(context.Background(), task, shim.State{Pid: 4242, ExitStatus: 137}); err != nil {
		t.Fatal(err)
	}
	m.publishExit(task, exit)                                            // the monitor, late
	m.publishExit(task, shim.Exit{ExecID: "e1", Pid: 4243, Status: 137}) // an exec's monitor, late
	if n := pending(t, ob); n != 2 {
		t.Fatalf("%d events recorded, want 2 (one /tasks/exit, one /tasks/delete)", n)
	}

	// The container's next task may get the same pid: its exit is its own.
	next := &Task{NS: "ns", ID: "c1", instance: newInstance()}
	recordTask(t, m, next)
	m.publishExit(task, exit) // the first task's monitor, later still
	if n := pending(t, ob); n != 2 {
		t.Fatalf("an exit of a deleted task was recorded for its successor (%d events)", n)
	}
	m.publishExit(next, exit)
	if n := pending(t, ob); n != 3 {
		t.Fatalf("the next task's exit was not recorded (%d events, want 3)", n)
	}
}

// TestTaskBeingCreatedIsNotUsed: while Create holds a task's id reserved
// the task has no shim yet; listing it or calling into it must not reach
// for one.
func TestTaskBeingCreatedIsNotUsed(t *testing.T) {
	m, _ := newTestManager(t)
	m.tasks[taskKey("ns", "c1")] = &Task{NS: "ns", ID: "c1", instance: newInstance()}
	ctx := namespace.WithNamespace(context.Background(), "ns")
	if ls, err := m.ListStates(ctx); err != nil || len(ls) != 0 {
		t.Fatalf("listed %d tasks (%v) while the only one is being created", len(ls), err)
	}
	if _, _, err := m.State(ctx, "c1", ""); !errdefs.IsNotFound(err) {
		t.Fatalf("state of a task being created: %v, want NotFound", err)
	}
	if !m.containers.InUse("ns", "c1") {
		t.Fatal("the container of a task being created is not in use")
	}
}
