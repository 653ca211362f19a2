package server

import (
	"context"
	"errors"
	"net"

	"github.com/containerd/errdefs"
	"go.uber.org/zap"

	"berth.dev/pkg/fdsocket"
	"berth.dev/pkg/imagedclient"
	"berth.dev/pkg/log"
	"berth.dev/pkg/namespace"
	"berth.dev/services/imaged/internal/content"
)

// BlobFiles serves imaged's blob socket: a daemon on the node names a
// committed blob of a namespace and receives it as an open read-only
// file (snapshotd reads layers this way, not as gRPC frames).
type BlobFiles struct {
	Store *content.Store
}

// Serve accepts on l until ctx ends.
func (s *BlobFiles) Serve(ctx context.Context, l net.Listener) error {
	return fdsocket.Serve(ctx, l, s.handle)
}

func (s *BlobFiles) handle(ctx context.Context, c *net.UnixConn) {
	var req imagedclient.BlobRequest
	if f, err := fdsocket.Receive(c, &req); err != nil {
		log.G(ctx).Warn("blob request", zap.Error(err))
		return
	} else if f != nil {
		f.Close()
	}
	resp := &imagedclient.BlobResponse{}
	if err := namespace.Validate(req.Namespace); err != nil {
		resp.Error = err.Error()
		fdsocket.Send(c, resp, nil)
		return
	}
	f, info, err := s.Store.Open(namespace.WithNamespace(ctx, req.Namespace), req.Digest)
	if err != nil {
		resp.Error, resp.NotFound = err.Error(), errors.Is(err, errdefs.ErrNotFound)
		fdsocket.Send(c, resp, nil)
		return
	}
	defer f.Close()
	resp.Size = info.Size
	if err := fdsocket.Send(c, resp, f); err != nil {
		log.G(ctx).Warn("send blob", zap.String("digest", req.Digest), zap.Error(err))
	}
}
