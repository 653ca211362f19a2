//go:build e2e

package e2e

import (
	"os"
	"testing"
	"time"

	apievents "github.com/containerd/containerd/api/events"

	"berth.dev/pkg/bus/bustest"
	"berth.dev/pkg/events"
	"berth.dev/test/e2e/harness"
)

// deleteEvents returns the ids (exec id, or the container id for the task)
// of the /tasks/delete events of container id.
func deleteEvents(t *testing.T, st *harness.Stack, id string) []string {
	envs, _ := bustest.EmbeddedEnvelopes(t, st.State)
	var ids []string
	for _, env := range envs {
		if env.Topic != events.TopicTaskDelete {
			continue
		}
		var ev apievents.TaskDelete
		if err := env.Event.UnmarshalTo(&ev); err != nil {
			t.Fatal(err)
		}
		if ev.ContainerID == id {
			ids = append(ids, ev.ContainerID+"/"+ev.ID)
		}
	}
	return ids
}

// TestShimExecDeleteIsNoTaskDelete deletes an exec, then the task: only the
// task's deletion is published as /tasks/delete, as containerd does.
func TestShimExecDeleteIsNoTaskDelete(t *testing.T) {
	st := runningStack(t)
	id := "evdel-" + randomHex(t, 6)
	st.MustCtr(t, "run", "-d", image, id, "sleep", "1000")
	// ctr deletes the exec when it finished.
	st.MustCtr(t, "task", "exec", "--exec-id", "e1", id, "true")
	st.MustCtr(t, "task", "kill", "-s", "9", id)
	waitFor(t, 10*time.Second, func() error {
		_, err := st.Ctr(t, "task", "rm", id)
		return err
	})
	waitFor(t, 10*time.Second, func() error {
		if got := deleteEvents(t, st, id); len(got) == 0 {
			return os.ErrNotExist
		}
		return nil
	})
	if got := deleteEvents(t, st, id); len(got) != 1 || got[0] != id+"/" {
		t.Fatalf("/tasks/delete events %q, want only the task's", got)
	}
}
