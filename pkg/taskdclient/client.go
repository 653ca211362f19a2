// Package taskdclient is the one client other daemons use to reach taskd
// (imaged's garbage collector asks which snapshots containers use).
package taskdclient

import (
	"context"

	api "github.com/containerd/containerd/api/services/containers/v1"
	"google.golang.org/grpc"

	"berth.dev/pkg/grpcclient"
)

// Client talks to taskd's socket.
type Client struct {
	cc         *grpc.ClientConn
	containers api.ContainersClient
}

// Dial connects lazily.
func Dial(socket string) (*Client, error) {
	cc, err := grpcclient.Dial(socket)
	if err != nil {
		return nil, err
	}
	return &Client{cc: cc, containers: api.NewContainersClient(cc)}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.cc.Close() }

// Containers lists the containers in the namespace of ctx.
func (c *Client) Containers(ctx context.Context) ([]*api.Container, error) {
	resp, err := c.containers.List(ctx, &api.ListContainersRequest{})
	if err != nil {
		return nil, err
	}
	return resp.Containers, nil
}
