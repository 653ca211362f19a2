package cli

import (
	"context"
	"fmt"
	"strconv"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"

	"berth.dev/cmd/berth/internal/format"
)

// state is what ps and inspect say about a container's process.
type state struct {
	Status    string    `json:"status"` // created, running, paused, exited
	Pid       uint32    `json:"pid,omitempty"`
	StartedAt time.Time `json:"startedAt,omitzero"`
	ExitCode  int       `json:"exitCode"`
	ExitedAt  time.Time `json:"exitedAt,omitzero"`
}

func stateOf(ctx context.Context, c containerd.Container, labels map[string]string) (state, error) {
	task, err := c.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		st := state{Status: "created"}
		if code, ok := labels[labelExitCode]; ok {
			st.Status = "exited"
			st.ExitCode, _ = strconv.Atoi(code)
			st.ExitedAt, _ = time.Parse(time.RFC3339Nano, labels[labelExitedAt])
		}
		return st, nil
	}
	if err != nil {
		return state{}, err
	}
	s, err := task.Status(ctx)
	if err != nil {
		return state{}, err
	}
	st := state{Status: string(s.Status), Pid: task.Pid()}
	st.StartedAt, _ = time.Parse(time.RFC3339Nano, labels[labelStarted])
	if s.Status == containerd.Stopped {
		st.Status, st.Pid, st.ExitCode, st.ExitedAt = "exited", 0, int(s.ExitStatus), s.ExitTime
	}
	return st, nil
}

// describe renders a state as docker's ps STATUS column does.
func (s state) describe(created, now time.Time) string {
	switch s.Status {
	case "running":
		since := s.StartedAt
		if since.IsZero() {
			since = created
		}
		return "Up " + format.Duration(now.Sub(since))
	case "exited":
		if s.ExitedAt.IsZero() {
			return fmt.Sprintf("Exited (%d)", s.ExitCode)
		}
		return fmt.Sprintf("Exited (%d) %s", s.ExitCode, format.Ago(s.ExitedAt, now))
	case "paused":
		return "Paused"
	}
	return "Created"
}

// loadContainer finds a container by name, saying so when it is missing.
func loadContainer(ctx context.Context, client *containerd.Client, id string) (containerd.Container, error) {
	c, err := client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil, problem(errdefs.ErrNotFound, "no container %q in namespace %q (berth ps -a lists them)", id, namespaceOf(ctx))
	}
	return c, err
}
