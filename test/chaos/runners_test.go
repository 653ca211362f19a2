//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"

	"berth.dev/pkg/events"
)

// runners are long-running containers, one per namespace, that live across
// faults: each must still run after a fault, or have its exit recorded.
type runners struct {
	list []runner
	n    int
}

type runner struct{ ns, id string }

// ensure starts a runner in every namespace that has none.
func (r *run) ensureRunners() {
	have := map[string]bool{}
	for _, rn := range r.runners.list {
		have[rn.ns] = true
	}
	for _, ns := range r.namespaces {
		if have[ns] {
			continue
		}
		r.runners.n++
		id := fmt.Sprintf("long-%d", r.runners.n)
		if err := r.startRunner(ns, id); err != nil {
			r.stats.op("runner-start", err)
			r.removeContainer(ns, id)
			continue
		}
		r.stats.op("runner-start", nil)
		r.runners.list = append(r.runners.list, runner{ns, id})
	}
}

func (r *run) startRunner(ns, id string) error {
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), ns), time.Minute)
	defer cancel()
	ctr, err := r.newContainer(ctx, ns, id, "sleep", "100000")
	if err != nil {
		return err
	}
	task, err := ctr.NewTask(ctx, cio.NullIO)
	r.ledger.note(ns, events.TopicTaskCreate, id, "", err)
	if err != nil {
		return err
	}
	err = task.Start(ctx)
	r.ledger.note(ns, events.TopicTaskStart, id, "", err)
	r.ledger.note(ns, events.TopicTaskExit, id, "", fmt.Errorf("not yet seen"))
	return err
}

// checkRunners reports runners that are neither running nor have their exit
// in the event stream, and replaces those that stopped.
func (r *run) checkRunners() {
	var keep []runner
	for _, rn := range r.runners.list {
		ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), rn.ns), 20*time.Second)
		st, err := r.runnerStatus(ctx, rn)
		cancel()
		switch {
		case err != nil:
			r.stats.violate("running-container-lost", r.phase(), "runner %s/%s: %v", rn.ns, rn.id, err)
		case st.Status == containerd.Running:
			keep = append(keep, rn)
			continue
		default:
			if !r.events.await(eventKey{rn.ns, events.TopicTaskExit, rn.id, rn.id}, 10*time.Second) {
				r.stats.violate("exit-not-recorded", r.phase(), "runner %s/%s is %s (exit status %d) and no /tasks/exit is in the stream", rn.ns, rn.id, st.Status, st.ExitStatus)
			}
		}
		r.removeContainer(rn.ns, rn.id)
	}
	r.runners.list = keep
}

func (r *run) runnerStatus(ctx context.Context, rn runner) (containerd.Status, error) {
	ctr, err := r.client.LoadContainer(ctx, rn.id)
	if err != nil {
		return containerd.Status{}, fmt.Errorf("container: %w", err)
	}
	task, err := ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return containerd.Status{}, fmt.Errorf("task gone: %w", err)
	}
	if err != nil {
		return containerd.Status{}, err
	}
	return task.Status(ctx)
}
