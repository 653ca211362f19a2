//go:build integration

package cri

import (
	"context"
	"testing"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	containersapi "github.com/containerd/containerd/api/services/containers/v1"
	tasksapi "github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/api/types/task"
	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/types/known/timestamppb"

	"berth.dev/pkg/bus"
	"berth.dev/pkg/bus/bustest"
	"berth.dev/pkg/config"
	"berth.dev/pkg/daemon"
	"berth.dev/pkg/events"
	"berth.dev/pkg/store/storetest"
	"berth.dev/services/gateway/internal/cri/store"
)

// runningTasks says every task runs, so only events can end them, and
// that taskd has every container the CRI records.
type runningTasks struct {
	Tasks
	st *store.Store
}

func (r runningTasks) Containers(ctx context.Context) ([]*containersapi.Container, error) {
	records, err := r.st.Containers()
	if err != nil {
		return nil, err
	}
	var out []*containersapi.Container
	for _, c := range records {
		out = append(out, &containersapi.Container{ID: c.ID})
	}
	return out, nil
}

func (runningTasks) Task(ctx context.Context, id string) (*task.Process, error) {
	return &task.Process{ID: id, Status: task.Status_RUNNING}, nil
}

func (runningTasks) DeleteTask(ctx context.Context, id string) (*tasksapi.DeleteResponse, error) {
	return &tasksapi.DeleteResponse{}, nil
}

// TestExitWhileAwayIsApplied: the durable consumer keeps its place while
// the monitor is stopped, so an exit published meanwhile is applied when
// it runs again.
func TestExitWhileAwayIsApplied(t *testing.T) {
	ns := bustest.Start(t)
	const node = "n1"
	db := storetest.Open(t)
	connect := func() *bus.Bus {
		b, err := bus.Connect(bus.Options{Name: t.Name(), Servers: []string{ns.URL()}, Stream: daemon.StreamConfig(node, config.Common{}), ManageStream: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(b.Close)
		return b
	}
	// taskd's side: exits recorded through an outbox.
	_, outbox := storetest.OpenWithOutbox(t, "taskd", events.WithNode(node))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go outbox.Run(ctx, connect())
	publishExit := func(id string, code uint32) {
		err := outbox.Update(ctx, func(txn *badger.Txn, rec *events.Recorder) error {
			return rec.Add(Namespace, events.TopicTaskExit, &apievents.TaskExit{ContainerID: id, ID: id, ExitStatus: code, ExitedAt: timestamppb.Now()})
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	st := store.New(db)
	s := New(Config{Node: node}, st, runningTasks{st: st}, nil, nil, nil)
	if err := st.AddSandbox(ctx, &store.Sandbox{ID: "pod", Name: "pod", State: store.SandboxReady}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"first", "second"} {
		if err := st.AddContainer(ctx, &store.Container{ID: id, SandboxID: "pod", Name: id, State: store.ContainerRunning}); err != nil {
			t.Fatal(err)
		}
	}
	exited := func(id string, code int32) bool {
		c, err := st.Container(id)
		return err == nil && c.State == store.ContainerExited && c.ExitCode == code
	}
	wait := func(what string, cond func() bool) {
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	mctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { s.Monitor(mctx, connect()); close(done) }()
	// The consumer is made when the monitor connects and starts from the
	// stream's end: publish until it is there.
	last := time.Time{}
	wait("the first exit", func() bool {
		if time.Since(last) > 500*time.Millisecond {
			publishExit("first", 1)
			last = time.Now()
		}
		return exited("first", 1)
	})
	stop()
	<-done

	publishExit("second", 2)
	wait("the outbox to drain", func() bool { n, _ := outbox.Pending(); return n == 0 })
	if exited("second", 2) {
		t.Fatal("exit applied with no monitor running")
	}
	go s.Monitor(ctx, connect())
	wait("the exit published while away", func() bool { return exited("second", 2) })
	if c, _ := st.Container("second"); c.Reason != "Error" {
		t.Fatalf("reason %q", c.Reason)
	}
}
