package taskdclient

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	containersapi "github.com/containerd/containerd/api/services/containers/v1"
	tasksapi "github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/api/types/task"
	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/types/known/anypb"
)

// The calls the CRI's exec, attach and port forwarding make, through
// containerd's containers and tasks APIs on taskd. Stubs are built per call
// from the shared connection.

// processSpecType is the type URL containerd gives an exec's process spec.
const processSpecType = "types.containerd.io/opencontainers/runtime-spec/1/Process"

// ProcessSpec returns the container's init process spec, the base an exec
// starts from (user, environment, capabilities, working directory).
func (c *Client) ProcessSpec(ctx context.Context, containerID string) (*specs.Process, error) {
	resp, err := containersapi.NewContainersClient(c.cc).Get(ctx, &containersapi.GetContainerRequest{ID: containerID})
	if err != nil {
		return nil, err
	}
	if resp.Container.Spec == nil {
		return nil, fmt.Errorf("container %q has no spec: %w", containerID, errdefs.ErrFailedPrecondition)
	}
	var spec specs.Spec
	if err := json.Unmarshal(resp.Container.Spec.Value, &spec); err != nil {
		return nil, fmt.Errorf("spec of container %q: %v: %w", containerID, err, errdefs.ErrInvalidArgument)
	}
	if spec.Process == nil {
		return nil, fmt.Errorf("container %q has no process: %w", containerID, errdefs.ErrFailedPrecondition)
	}
	return spec.Process, nil
}

// Task returns a container's init process: its status and pid.
func (c *Client) Task(ctx context.Context, containerID string) (*task.Process, error) {
	resp, err := tasksapi.NewTasksClient(c.cc).Get(ctx, &tasksapi.GetRequest{ContainerID: containerID})
	if err != nil {
		return nil, err
	}
	return resp.Process, nil
}

// ExecProcess names an exec and its stdio fifos (empty for none).
type ExecProcess struct {
	ContainerID, ExecID   string
	Stdin, Stdout, Stderr string
	Terminal              bool
	Spec                  *specs.Process
}

// Exec adds a process to a running task; Start runs it.
func (c *Client) Exec(ctx context.Context, p ExecProcess) error {
	spec, err := json.Marshal(p.Spec)
	if err != nil {
		return err
	}
	_, err = tasksapi.NewTasksClient(c.cc).Exec(ctx, &tasksapi.ExecProcessRequest{
		ContainerID: p.ContainerID, ExecID: p.ExecID, Stdin: p.Stdin, Stdout: p.Stdout, Stderr: p.Stderr,
		Terminal: p.Terminal, Spec: &anypb.Any{TypeUrl: processSpecType, Value: spec},
	})
	return err
}

// Start starts an exec (or the init process when execID is empty).
func (c *Client) Start(ctx context.Context, containerID, execID string) error {
	_, err := tasksapi.NewTasksClient(c.cc).Start(ctx, &tasksapi.StartRequest{ContainerID: containerID, ExecID: execID})
	return err
}

// Wait blocks until the process exits and returns its status.
func (c *Client) Wait(ctx context.Context, containerID, execID string) (uint32, time.Time, error) {
	resp, err := tasksapi.NewTasksClient(c.cc).Wait(ctx, &tasksapi.WaitRequest{ContainerID: containerID, ExecID: execID})
	if err != nil {
		return 0, time.Time{}, err
	}
	return resp.ExitStatus, resp.ExitedAt.AsTime(), nil
}

// Kill signals a process.
func (c *Client) Kill(ctx context.Context, containerID, execID string, signal uint32) error {
	_, err := tasksapi.NewTasksClient(c.cc).Kill(ctx, &tasksapi.KillRequest{ContainerID: containerID, ExecID: execID, Signal: signal})
	return err
}

// DeleteProcess removes an exited exec.
func (c *Client) DeleteProcess(ctx context.Context, containerID, execID string) error {
	_, err := tasksapi.NewTasksClient(c.cc).DeleteProcess(ctx, &tasksapi.DeleteProcessRequest{ContainerID: containerID, ExecID: execID})
	return err
}

// ResizePty changes a process's terminal size.
func (c *Client) ResizePty(ctx context.Context, containerID, execID string, width, height uint32) error {
	_, err := tasksapi.NewTasksClient(c.cc).ResizePty(ctx, &tasksapi.ResizePtyRequest{ContainerID: containerID, ExecID: execID, Width: width, Height: height})
	return err
}

// CloseStdin closes a process's stdin.
func (c *Client) CloseStdin(ctx context.Context, containerID, execID string) error {
	_, err := tasksapi.NewTasksClient(c.cc).CloseIO(ctx, &tasksapi.CloseIORequest{ContainerID: containerID, ExecID: execID, Stdin: true})
	return err
}
