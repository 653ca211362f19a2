// Package snapshotdclient is the one client other daemons use to reach
// snapshotd's snapshots API (imaged's garbage collector lists and removes
// snapshots through it).
package snapshotdclient

import (
	"context"
	"errors"
	"io"

	api "github.com/containerd/containerd/api/services/snapshots/v1"
	"google.golang.org/grpc"

	"berth.dev/pkg/grpcclient"
)

// Client talks to snapshotd's socket.
type Client struct {
	cc           *grpc.ClientConn
	snapshots    api.SnapshotsClient
	streamSocket string
}

// Dial connects lazily.
func Dial(socket string) (*Client, error) {
	cc, err := grpcclient.Dial(socket)
	if err != nil {
		return nil, err
	}
	return &Client{cc: cc, snapshots: api.NewSnapshotsClient(cc), streamSocket: StreamSocket(socket)}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.cc.Close() }

// List returns every snapshot of a snapshotter in the namespace of ctx.
func (c *Client) List(ctx context.Context, snapshotter string) ([]*api.Info, error) {
	s, err := c.snapshots.List(ctx, &api.ListSnapshotsRequest{Snapshotter: snapshotter})
	if err != nil {
		return nil, err
	}
	var out []*api.Info
	for {
		resp, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, resp.Info...)
	}
}

// Remove removes a snapshot.
func (c *Client) Remove(ctx context.Context, snapshotter, key string) error {
	_, err := c.snapshots.Remove(ctx, &api.RemoveSnapshotRequest{Snapshotter: snapshotter, Key: key})
	return err
}
