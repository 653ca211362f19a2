package snapshotdclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/containerd/api/types"
	"github.com/containerd/errdefs"

	"berth.dev/pkg/fdsocket"
	"berth.dev/pkg/namespace"
)

// StreamSocket is where snapshotd takes layers as open file descriptors,
// beside its gRPC socket: a layer streamed that way crosses no gRPC frames,
// and a pipe lets it be applied while it still downloads.
func StreamSocket(grpcSocket string) string {
	return filepath.Join(filepath.Dir(grpcSocket), strings.TrimSuffix(filepath.Base(grpcSocket), ".sock")+"-apply.sock")
}

// StreamApplyRequest is the one message a client sends on the stream
// socket, with the layer's descriptor (SCM_RIGHTS) beside it. A request
// with SyncOnly carries no layer: snapshotd syncs its filesystem, once for
// layers applied without a sync of their own.
type StreamApplyRequest struct {
	Namespace string         `json:"namespace"`
	Digest    string         `json:"digest,omitempty"`
	Mounts    []*types.Mount `json:"mounts,omitempty"`
	Sync      bool           `json:"sync,omitempty"`
	Overlay   bool           `json:"overlay,omitempty"`
	SyncOnly  bool           `json:"sync_only,omitempty"`
	// SyncFew asks snapshotd to fsync what a small layer wrote (only
	// files and directories, few of them) before it answers; the answer's
	// Synced says whether it did, and the client syncs the filesystem
	// when it did not. A snapshotd that predates it never says Synced.
	SyncFew bool `json:"sync_few,omitempty"`
}

// StreamApplyResponse is snapshotd's answer once the layer is applied.
type StreamApplyResponse struct {
	DiffID string `json:"diff_id,omitempty"`
	Size   int64  `json:"size,omitempty"`
	// Synced says the layer is on disk (SyncFew).
	Synced bool   `json:"synced,omitempty"`
	Error  string `json:"error,omitempty"`
	// Kind is the errdefs class of Error.
	Kind string `json:"kind,omitempty"`
}

// errorKinds carry errdefs classes across the stream socket.
var errorKinds = []struct {
	name string
	err  error
}{
	{"invalid-argument", errdefs.ErrInvalidArgument},
	{"not-found", errdefs.ErrNotFound},
	{"resource-exhausted", errdefs.ErrResourceExhausted},
	{"failed-precondition", errdefs.ErrFailedPrecondition},
	{"data-loss", errdefs.ErrDataLoss},
}

// ErrorResponse encodes err for the stream socket.
func ErrorResponse(err error) *StreamApplyResponse {
	r := &StreamApplyResponse{Error: err.Error()}
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			r.Kind = k.name
			break
		}
	}
	return r
}

func (r *StreamApplyResponse) err() error {
	for _, k := range errorKinds {
		if k.name == r.Kind {
			return fmt.Errorf("%s: %w", r.Error, k.err)
		}
	}
	return errors.New(r.Error)
}

// StreamSync says how a streamed layer reaches the disk.
type StreamSync int

const (
	// SyncLater leaves the layer to the caller's SyncFilesystem.
	SyncLater StreamSync = iota
	// SyncAll syncs the filesystem after the layer.
	SyncAll
	// SyncFew fsyncs what the layer wrote when it is small (see
	// StreamApplyRequest.SyncFew), else leaves it to SyncFilesystem.
	SyncFew
)

// ApplyStream unpacks the layer read from f (a pipe or a file) into mounts,
// like Apply, and says whether the layer is on disk. It takes f: snapshotd
// receives its descriptor and f is closed here, so a writer at the other
// end of a pipe sees snapshotd stop reading. The caller verifies what it
// streamed before it commits the snapshot.
func (c *Client) ApplyStream(ctx context.Context, desc *types.Descriptor, mounts []*types.Mount, f *os.File, sync StreamSync, overlayWhiteouts bool) (applied *types.Descriptor, synced bool, err error) {
	defer f.Close()
	req := &StreamApplyRequest{Digest: desc.Digest, Mounts: mounts, Sync: sync == SyncAll, SyncFew: sync == SyncFew, Overlay: overlayWhiteouts}
	resp, err := c.stream(ctx, req, f)
	if err != nil {
		return nil, false, fmt.Errorf("apply layer %s: %w", desc.Digest, err)
	}
	applied = &types.Descriptor{MediaType: "application/vnd.oci.image.layer.v1.tar", Digest: resp.DiffID, Size: resp.Size}
	return applied, resp.Synced || sync == SyncAll, nil
}

// SyncFilesystem syncs the filesystem holding snapshotd's snapshots: one
// sync for a whole image whose layers were applied without one.
func (c *Client) SyncFilesystem(ctx context.Context) error {
	_, err := c.stream(ctx, &StreamApplyRequest{SyncOnly: true}, nil)
	return err
}

func (c *Client) stream(ctx context.Context, req *StreamApplyRequest, f *os.File) (*StreamApplyResponse, error) {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return nil, err
	}
	req.Namespace = ns
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.streamSocket)
	if err != nil {
		return nil, fmt.Errorf("snapshotd stream socket: %v: %w", err, errdefs.ErrUnavailable)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := fdsocket.Send(conn.(*net.UnixConn), req, f); err != nil {
		return nil, fmt.Errorf("send to snapshotd: %w", err)
	}
	if f != nil {
		// snapshotd holds its own copy now.
		f.Close()
	}
	var resp StreamApplyResponse
	if err := json.NewDecoder(conn).Decode(&resp); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("snapshotd answered %v: %w", err, errdefs.ErrUnavailable)
	}
	if resp.Error != "" {
		return nil, resp.err()
	}
	return &resp, nil
}
