package snapshotdclient

import (
	"context"

	diffapi "github.com/containerd/containerd/api/services/diff/v1"
	api "github.com/containerd/containerd/api/services/snapshots/v1"
	"github.com/containerd/containerd/api/types"
)

// Stat returns a snapshot's info.
func (c *Client) Stat(ctx context.Context, snapshotter, key string) (*api.Info, error) {
	resp, err := c.snapshots.Stat(ctx, &api.StatSnapshotRequest{Snapshotter: snapshotter, Key: key})
	if err != nil {
		return nil, err
	}
	return resp.Info, nil
}

// Prepare creates an active snapshot.
func (c *Client) Prepare(ctx context.Context, snapshotter, key, parent string) ([]*types.Mount, error) {
	resp, err := c.snapshots.Prepare(ctx, &api.PrepareSnapshotRequest{Snapshotter: snapshotter, Key: key, Parent: parent})
	if err != nil {
		return nil, err
	}
	return resp.Mounts, nil
}

// Commit commits an active snapshot under name.
func (c *Client) Commit(ctx context.Context, snapshotter, name, key string) error {
	_, err := c.snapshots.Commit(ctx, &api.CommitSnapshotRequest{Snapshotter: snapshotter, Name: name, Key: key})
	return err
}

// Apply unpacks the layer desc (from imaged's content store) into mounts
// and returns the applied (uncompressed) descriptor; with syncFS the
// filesystem is synced before it returns.
func (c *Client) Apply(ctx context.Context, desc *types.Descriptor, mounts []*types.Mount, syncFS bool) (*types.Descriptor, error) {
	resp, err := diffapi.NewDiffClient(c.cc).Apply(ctx, &diffapi.ApplyRequest{Diff: desc, Mounts: mounts, SyncFs: syncFS})
	if err != nil {
		return nil, err
	}
	return resp.Applied, nil
}
