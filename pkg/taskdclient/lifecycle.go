package taskdclient

import (
	"context"

	containersapi "github.com/containerd/containerd/api/services/containers/v1"
	tasksapi "github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/api/types"
	"google.golang.org/protobuf/types/known/anypb"
)

// The CRI drives containers and tasks through these, in the namespace of
// ctx.

// CreateContainer records a container.
func (c *Client) CreateContainer(ctx context.Context, ctr *containersapi.Container) error {
	_, err := c.containers.Create(ctx, &containersapi.CreateContainerRequest{Container: ctr})
	return err
}

// DeleteContainer removes a container's record.
func (c *Client) DeleteContainer(ctx context.Context, id string) error {
	_, err := c.containers.Delete(ctx, &containersapi.DeleteContainerRequest{ID: id})
	return err
}

func (c *Client) tasks() tasksapi.TasksClient { return tasksapi.NewTasksClient(c.cc) }

// CreateTask creates a container's init process and returns its pid.
func (c *Client) CreateTask(ctx context.Context, req *tasksapi.CreateTaskRequest) (uint32, error) {
	resp, err := c.tasks().Create(ctx, req)
	if err != nil {
		return 0, err
	}
	return resp.Pid, nil
}

// StartTask starts a created init process.
func (c *Client) StartTask(ctx context.Context, id string) (uint32, error) {
	resp, err := c.tasks().Start(ctx, &tasksapi.StartRequest{ContainerID: id})
	if err != nil {
		return 0, err
	}
	return resp.Pid, nil
}

// KillTask signals the init process (every process with all).
func (c *Client) KillTask(ctx context.Context, id string, signal uint32, all bool) error {
	_, err := c.tasks().Kill(ctx, &tasksapi.KillRequest{ContainerID: id, Signal: signal, All: all})
	return err
}

// DeleteTask removes a stopped task and returns its exit.
func (c *Client) DeleteTask(ctx context.Context, id string) (*tasksapi.DeleteResponse, error) {
	return c.tasks().Delete(ctx, &tasksapi.DeleteTaskRequest{ContainerID: id})
}

// TaskMetrics returns the cgroup figures of the tasks matching filters
// (containerd's filter syntax, e.g. id==...).
func (c *Client) TaskMetrics(ctx context.Context, filters ...string) ([]*types.Metric, error) {
	resp, err := c.tasks().Metrics(ctx, &tasksapi.MetricsRequest{Filters: filters})
	if err != nil {
		return nil, err
	}
	return resp.Metrics, nil
}

// UpdateTask applies runtime-spec LinuxResources (JSON in an Any) to a
// running task.
func (c *Client) UpdateTask(ctx context.Context, id string, resources *anypb.Any) error {
	_, err := c.tasks().Update(ctx, &tasksapi.UpdateTaskRequest{ContainerID: id, Resources: resources})
	return err
}
