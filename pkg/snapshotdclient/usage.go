package snapshotdclient

import (
	"context"

	api "github.com/containerd/containerd/api/services/snapshots/v1"
)

// Usage returns the disk space and inodes a snapshot's own layer takes.
func (c *Client) Usage(ctx context.Context, snapshotter, key string) (size, inodes int64, err error) {
	resp, err := c.snapshots.Usage(ctx, &api.UsageRequest{Snapshotter: snapshotter, Key: key})
	if err != nil {
		return 0, 0, err
	}
	return resp.Size, resp.Inodes, nil
}
