package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"sync"

	"github.com/containerd/errdefs"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"berth.dev/pkg/log"
	"berth.dev/pkg/namespace"
	"berth.dev/pkg/snapshotdclient"
	"berth.dev/services/snapshotd/internal/apply"
)

// StreamApply serves snapshotd's stream socket: a client (imaged's pull)
// hands over a layer as an open descriptor, a pipe it fills while the layer
// still downloads, and snapshotd applies what it reads, as Diff.Apply
// would. The client verifies the compressed digest and discards the
// snapshot if it is wrong; snapshotd reports the uncompressed digest.
type StreamApply struct {
	TmpRoot string
	Options apply.Options
}

// Serve accepts on l until ctx ends, and waits for the applies under way.
func (s *StreamApply) Serve(ctx context.Context, l net.Listener) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			s.handle(ctx, c.(*net.UnixConn))
		}()
	}
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
	target, release, err := apply.Target(req.Mounts, s.TmpRoot)
	if err != nil {
		return nil, err
	}
	opts := s.Options
	opts.Overlay = req.Overlay
	res, err := apply.Apply(target, bufio.NewReaderSize(layer, 1<<20), opts)
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
	return &snapshotdclient.StreamApplyResponse{DiffID: res.DiffID.String(), Size: res.Size}, nil
}

// readRequest reads the request line and the descriptor sent with it.
func readRequest(c *net.UnixConn) (*snapshotdclient.StreamApplyRequest, *os.File, error) {
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, nil, fmt.Errorf("read stream apply request: %w", err)
	}
	var req snapshotdclient.StreamApplyRequest
	if err := json.Unmarshal(buf[:n], &req); err != nil {
		closeRights(oob[:oobn])
		return nil, nil, fmt.Errorf("stream apply request: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	if req.SyncOnly {
		closeRights(oob[:oobn])
		return &req, nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, nil, fmt.Errorf("stream apply request carries no descriptor: %w", errdefs.ErrInvalidArgument)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, nil, fmt.Errorf("stream apply request carries %d descriptors: %w", len(fds), errdefs.ErrInvalidArgument)
	}
	layer := os.NewFile(uintptr(fds[0]), "layer")
	if req.Digest == "" || len(req.Mounts) == 0 {
		layer.Close()
		return nil, nil, fmt.Errorf("stream apply request needs a digest and mounts: %w", errdefs.ErrInvalidArgument)
	}
	return &req, layer, nil
}

// closeRights closes descriptors a request should not have carried.
func closeRights(oob []byte) {
	msgs, _ := unix.ParseSocketControlMessage(oob)
	for i := range msgs {
		fds, _ := unix.ParseUnixRights(&msgs[i])
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
}

// syncAll syncs the filesystem holding snapshotd's data (TmpRoot lies
// beside the snapshots).
func (s *StreamApply) syncAll() error {
	if err := os.MkdirAll(s.TmpRoot, 0o700); err != nil {
		return err
	}
	return apply.Sync(s.TmpRoot)
}
