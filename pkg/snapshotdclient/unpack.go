package snapshotdclient

import (
	"context"

	diffapi "github.com/containerd/containerd/api/services/diff/v1"
	api "github.com/containerd/containerd/api/services/snapshots/v1"
	"github.com/containerd/containerd/api/types"
	"google.golang.org/protobuf/types/known/anypb"
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

// Commit commits an active snapshot under name; a parent other than the
// one it was prepared on rebases it (overlayfs only).
func (c *Client) Commit(ctx context.Context, snapshotter, name, key, parent string) error {
	_, err := c.snapshots.Commit(ctx, &api.CommitSnapshotRequest{Snapshotter: snapshotter, Name: name, Key: key, Parent: parent})
	return err
}

// OverlayWhiteouts is the Apply payload asking snapshotd to record a
// layer's deletions as overlay whiteouts, for a layer unpacked into a
// snapshot of its own and committed onto its parents afterwards.
const OverlayWhiteouts = "io.berth.apply.overlay-whiteouts"

// Apply unpacks the layer desc (from imaged's content store) into mounts
// and returns the applied (uncompressed) descriptor; with syncFS the
// filesystem is synced before it returns.
func (c *Client) Apply(ctx context.Context, desc *types.Descriptor, mounts []*types.Mount, syncFS, overlayWhiteouts bool) (*types.Descriptor, error) {
	req := &diffapi.ApplyRequest{Diff: desc, Mounts: mounts, SyncFs: syncFS}
	if overlayWhiteouts {
		req.Payloads = map[string]*anypb.Any{OverlayWhiteouts: {}}
	}
	resp, err := diffapi.NewDiffClient(c.cc).Apply(ctx, req)
	if err != nil {
		return nil, err
	}
	return resp.Applied, nil
}
