package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"

	"github.com/containerd/errdefs"
	"go.uber.org/zap"

	"berth.dev/pkg/fdsocket"
	"berth.dev/pkg/log"
	"berth.dev/pkg/namespace"
	"berth.dev/pkg/snapshotdclient"
	"berth.dev/services/snapshotd/internal/apply"
	"berth.dev/services/snapshotd/internal/snapshot"
)

// StreamApply serves snapshotd's stream socket: a client (imaged's pull)
// hands over a layer as an open descriptor, a pipe it fills while the layer
// still downloads, and snapshotd applies what it reads, as Diff.Apply
// would. The client verifies the compressed digest and discards the
// snapshot if it is wrong; snapshotd reports the uncompressed digest.
type StreamApply struct {
	// Snapshots keeps a snapshot an apply writes into from being removed
	// meanwhile.
	Snapshots *snapshot.Manager
	TmpRoot   string
	Options   apply.Options
}

// Serve accepts on l until ctx ends, and waits for the applies under way.
func (s *StreamApply) Serve(ctx context.Context, l net.Listener) error {
	return fdsocket.Serve(ctx, l, s.handle)
}

func (s *StreamApply) handle(ctx context.Context, c *net.UnixConn) {
	resp, err := s.apply(ctx, c)
	if err != nil {
		resp = snapshotdclient.ErrorResponse(err)
		log.G(ctx).Warn("stream apply failed", zap.Error(err))
	}
	json.NewEncoder(c).Encode(resp)
}

func (s *StreamApply) apply(ctx context.Context, c *net.UnixConn) (*snapshotdclient.StreamApplyResponse, error) {
	req, layer, err := readRequest(c)
	if err != nil {
		return nil, err
	}
	if err := namespace.Validate(req.Namespace); err != nil {
		if layer != nil {
			layer.Close()
		}
		return nil, err
	}
	if req.SyncOnly {
		return &snapshotdclient.StreamApplyResponse{}, s.syncAll()
	}
	defer layer.Close()
	// The client going away (its pull failed or was cancelled) ends the
	// apply: closing the layer makes the next read fail.
	go func() {
		var b [1]byte
		c.Read(b[:])
		layer.Close()
	}()
	done, err := s.Snapshots.Writing(req.Mounts)
	if err != nil {
		return nil, err
	}
	defer done()
	target, release, err := apply.Target(req.Mounts, s.TmpRoot)
	if err != nil {
		return nil, err
	}
	opts := s.Options
	opts.Overlay = req.Overlay
	// Streamed applies are Berth's own pull's, which syncs before it
	// records the image: start their write-out as they unpack.
	opts.WriteBack = true
	if req.SyncFew && len(req.Mounts) == 1 && req.Mounts[0].Type == "bind" {
		// Written in place, in a snapshot's own directory (an overlay
		// mount's writes land elsewhere, which SyncAbove would miss).
		opts.SyncFew = syncFewLimit
	}
	res, err := apply.Apply(target, bufio.NewReaderSize(layer, 1<<20), opts)
	if err == nil && res.Synced {
		// The snapshot's own directories, which Prepare created unsynced.
		err = apply.SyncAbove(target, snapshotDirDepth)
	}
	if err == nil && req.Sync {
		err = apply.Sync(target)
	}
	if rerr := release(); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return nil, fmt.Errorf("apply layer %s: %w", req.Digest, err)
	}
	log.G(ctx).Debug("applied streamed layer", zap.String("digest", req.Digest), zap.String("diff_id", res.DiffID.String()), zap.Int64("size", res.Size))
	return &snapshotdclient.StreamApplyResponse{DiffID: res.DiffID.String(), Size: res.Size, Synced: res.Synced || req.Sync}, nil
}

// syncFewLimit bounds the files and directories a streamed layer asked to
// be made durable on its own (SyncFew) may write: each is an fsync, and a
// journalling filesystem commits once for the first and flushes its cache
// for each, so past a few dozen one sync of the filesystem is cheaper. A
// layer that small (a configuration, a binary, an application's files) is
// then durable without writing out whatever else is dirty on the
// filesystem.
const syncFewLimit = 64

// snapshotDirDepth is how many directories above a snapshot's fs
// directory Prepare may have created or named anew:
// snapshots/<snapshotter>/<id>/fs.
const snapshotDirDepth = 3

// readRequest reads the request and the layer's descriptor sent with it.
func readRequest(c *net.UnixConn) (*snapshotdclient.StreamApplyRequest, *os.File, error) {
	var req snapshotdclient.StreamApplyRequest
	layer, err := fdsocket.Receive(c, &req)
	if err != nil {
		return nil, nil, fmt.Errorf("read stream apply request: %w", err)
	}
	if req.SyncOnly {
		if layer != nil {
			layer.Close()
		}
		return &req, nil, nil
	}
	if layer == nil || req.Digest == "" || len(req.Mounts) == 0 {
		if layer != nil {
			layer.Close()
		}
		return nil, nil, fmt.Errorf("stream apply request needs a layer, a digest and mounts: %w", errdefs.ErrInvalidArgument)
	}
	return &req, layer, nil
}

// syncAll syncs the filesystem holding snapshotd's data (TmpRoot lies
// beside the snapshots).
func (s *StreamApply) syncAll() error {
	if err := os.MkdirAll(s.TmpRoot, 0o700); err != nil {
		return err
	}
	return apply.Sync(s.TmpRoot)
}
