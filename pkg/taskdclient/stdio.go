package taskdclient

import (
	"context"

	tasksv1 "berth.dev/proto/berth/tasks/v1"
)

// StdioStream is a stream joined to a container's live stdio
// (berth.tasks.v1.Tasks/Attach): Send carries stdin, resizes and the end of
// stdin, Recv the process's output.
type StdioStream = tasksv1.Tasks_AttachClient

// AttachStdio opens the stream and names the container in its first
// message.
func (c *Client) AttachStdio(ctx context.Context, containerID string) (StdioStream, error) {
	stream, err := tasksv1.NewTasksClient(c.cc).Attach(ctx)
	if err != nil {
		return nil, err
	}
	if err := stream.Send(&tasksv1.AttachRequest{ContainerId: containerID}); err != nil {
		return nil, err
	}
	return stream, nil
}
