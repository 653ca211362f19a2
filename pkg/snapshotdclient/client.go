// Package snapshotdclient is the one client other daemons use to reach
// snapshotd's snapshots API (imaged's garbage collector lists and removes
// snapshots through it).
package snapshotdclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	api "github.com/containerd/containerd/api/services/snapshots/v1"
	"github.com/containerd/errdefs"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

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

// CreatedMetadata is the gRPC metadata key of a conditional removal: the
// creation time (RFC 3339 with nanoseconds) the caller listed for the
// snapshot. snapshotd removes the snapshot only if its record still bears
// that time, and answers FailedPrecondition otherwise. The garbage
// collector sends it so that a snapshot created again under a key it
// listed as garbage is not taken for the old one.
const CreatedMetadata = "berth-snapshot-created"

// RemoveIfCreated removes a snapshot if it is still the one created at
// created.
func (c *Client) RemoveIfCreated(ctx context.Context, snapshotter, key string, created time.Time) error {
	ctx = metadata.AppendToOutgoingContext(ctx, CreatedMetadata, created.UTC().Format(time.RFC3339Nano))
	return c.Remove(ctx, snapshotter, key)
}

// CreatedFromContext returns the creation time a conditional removal
// names, if the call carries one.
func CreatedFromContext(ctx context.Context) (time.Time, bool, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	v := md.Get(CreatedMetadata)
	if len(v) == 0 || v[0] == "" {
		return time.Time{}, false, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v[0])
	if err != nil {
		return time.Time{}, false, fmt.Errorf("%s %q: %w", CreatedMetadata, v[0], errdefs.ErrInvalidArgument)
	}
	return t, true, nil
}
