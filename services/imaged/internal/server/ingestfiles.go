package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sync"

	"github.com/containerd/errdefs"
	"go.uber.org/zap"
	"google.golang.org/grpc/metadata"

	"berth.dev/pkg/fdsocket"
	"berth.dev/pkg/imagedclient"
	"berth.dev/pkg/lease"
	"berth.dev/pkg/log"
	"berth.dev/pkg/namespace"
	"berth.dev/services/imaged/internal/content"
)

// IngestFiles serves imaged's ingest socket: the gateway opens an ingest
// for a client's content Write, receives its data file and writes the
// WRITE messages' data into it itself, one hop less for every byte.
// imaged still owns the ingest: it takes the gateway's hash of what it
// reports written (or reads it back and hashes it, for a writer that
// sends none), answers STAT, truncates, and verifies and commits the blob.
type IngestFiles struct {
	Store *content.Store
}

// Serve accepts on l until ctx ends.
func (s *IngestFiles) Serve(ctx context.Context, l net.Listener) error {
	return fdsocket.Serve(ctx, l, func(ctx context.Context, c *net.UnixConn) {
		// A session blocks reading the gateway: it ends with imaged.
		stop := context.AfterFunc(ctx, func() { c.Close() })
		defer stop()
		s.handle(ctx, c)
	})
}

func (s *IngestFiles) handle(ctx context.Context, c *net.UnixConn) {
	var open imagedclient.IngestOpen
	if f, err := fdsocket.Receive(c, &open); err != nil {
		log.G(ctx).Warn("ingest request", zap.Error(err))
		return
	} else if f != nil {
		f.Close()
	}
	ctx = sessionContext(ctx, &open)
	w, err := s.open(ctx, &open)
	if err != nil {
		fdsocket.Send(c, imagedclient.ErrorReply(err), nil)
		return
	}
	defer w.Close()
	f, err := w.DataFile()
	if err != nil {
		fdsocket.Send(c, imagedclient.ErrorReply(err), nil)
		return
	}
	r := reply(w)
	if r.State, err = w.HashState(); err != nil {
		f.Close()
		fdsocket.Send(c, imagedclient.ErrorReply(err), nil)
		return
	}
	err = fdsocket.Send(c, r, f)
	f.Close()
	if err != nil {
		log.G(ctx).Warn("send ingest", zap.String("ref", open.Ref), zap.Error(err))
		return
	}
	s.serve(ctx, c, w, &open)
}

// sessionContext gives the session what the gRPC metadata of a Write
// would: the namespace, the lease its blob is held by, and the client
// connection (for the lease's owner).
func sessionContext(ctx context.Context, open *imagedclient.IngestOpen) context.Context {
	md := metadata.MD{}
	md.Set(namespace.Metadata, open.Namespace)
	if open.Lease != "" {
		md.Set(lease.Metadata, open.Lease)
	}
	if open.Client != "" {
		md.Set(lease.ClientMetadata, open.Client)
	}
	return metadata.NewIncomingContext(ctx, md)
}

func (s *IngestFiles) open(ctx context.Context, open *imagedclient.IngestOpen) (*content.Writer, error) {
	// As a Write's: none is FailedPrecondition, a bad one InvalidArgument.
	if _, err := namespace.Required(ctx); err != nil {
		return nil, err
	}
	if open.Ref == "" {
		return nil, fmt.Errorf("first write message must name a ref: %w", errdefs.ErrInvalidArgument)
	}
	if open.Expected != "" {
		if _, err := s.Store.Info(ctx, open.Expected); err == nil {
			return nil, fmt.Errorf("content %s: %w", open.Expected, errdefs.ErrAlreadyExists)
		}
	}
	return s.Store.Writer(content.ClientWrite(ctx), open.Ref, open.Total, open.Expected)
}

// serve takes the session's operations in order until the gateway ends it
// or the ingest expires. A failed IngestWrote is answered at the next
// operation that waits for an answer; the session then ends.
func (s *IngestFiles) serve(ctx context.Context, c *net.UnixConn, w *content.Writer, open *imagedclient.IngestOpen) {
	var mu sync.Mutex // one answer at a time
	enc := json.NewEncoder(c)
	answer := func(r *imagedclient.IngestReply) error {
		mu.Lock()
		defer mu.Unlock()
		return enc.Encode(r)
	}
	go func() {
		select {
		case <-w.Expired():
			// Said to a gateway that is waiting, or at its next send.
			answer(imagedclient.ErrorReply(w.Err()))
			c.Close()
		case <-ctx.Done():
		}
	}()
	dec := json.NewDecoder(c)
	total, expected := open.Total, open.Expected
	var failed error
	for {
		var req imagedclient.IngestRequest
		if err := dec.Decode(&req); err != nil {
			return // the gateway ended the session (or it expired)
		}
		if req.Op == imagedclient.IngestWrote {
			if failed == nil && req.State != nil {
				failed = w.Hashed(req.N, req.State)
			} else if failed == nil {
				failed = w.Appended(req.N)
			}
			continue
		}
		if req.Size > 0 {
			total = req.Size
		}
		if req.Expected != "" {
			expected = req.Expected
		}
		err := failed
		if err == nil {
			err = s.do(ctx, w, &req, total, expected)
		}
		if err != nil {
			answer(imagedclient.ErrorReply(err))
			return
		}
		r := reply(w)
		if req.Op != imagedclient.IngestTruncate {
			r.Digest = w.Digest().String()
		}
		if err := answer(r); err != nil || req.Op == imagedclient.IngestCommit {
			return
		}
	}
}

func (s *IngestFiles) do(ctx context.Context, w *content.Writer, req *imagedclient.IngestRequest, total int64, expected string) error {
	switch req.Op {
	case imagedclient.IngestStat:
		return nil
	case imagedclient.IngestTruncate:
		return w.Truncate(0)
	case imagedclient.IngestCommit:
		return w.Commit(ctx, total, expected, req.Labels)
	}
	return fmt.Errorf("unknown ingest operation %q: %w", req.Op, errdefs.ErrInvalidArgument)
}

func reply(w *content.Writer) *imagedclient.IngestReply {
	st := w.Status()
	return &imagedclient.IngestReply{Offset: st.Offset, StartedAt: st.StartedAt.AsTime(), UpdatedAt: st.UpdatedAt.AsTime()}
}
