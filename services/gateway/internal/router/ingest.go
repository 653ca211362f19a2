package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"

	api "github.com/containerd/containerd/api/services/content/v1"
	"github.com/containerd/errdefs"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	"berth.dev/pkg/imagedclient"
	"berth.dev/pkg/lease"
	"berth.dev/pkg/namespace"
)

// contentWrite is the call the router serves itself when it has imaged's
// ingest socket (see WriteContentAt).
const contentWrite = "/containerd.services.content.v1.Content/Write"

// WriteContentAt has the router serve content Writes itself through
// imaged's ingest socket: it writes each WRITE message's data straight
// into the ingest's data file imaged hands it, instead of forwarding the
// messages as gRPC frames (a client-side pull's every byte crossed two
// gRPC hops). imaged hashes what is written, answers STAT, and verifies
// and commits the blob.
func (r *Router) WriteContentAt(socket string) { r.ingestSocket = socket }

// writeContent serves containerd's ingest protocol: WRITE messages are
// answered once their data is in the file, with the offset and no digest
// (which the protocol leaves to the implementation for WRITE); STAT,
// truncation and COMMIT wait for imaged.
func (r *Router) writeContent(ctx context.Context, ss grpc.ServerStream) error {
	req := &api.WriteContentRequest{}
	if err := ss.RecvMsg(req); err != nil {
		return err
	}
	open := &imagedclient.IngestOpen{Ref: req.Ref, Total: req.Total, Expected: req.Expected}
	open.Namespace, _ = namespace.FromContext(ctx)
	open.Lease, _ = lease.FromContext(ctx)
	open.Client, _ = ClientID(ctx)
	in, err := imagedclient.OpenIngest(ctx, r.ingestSocket, open)
	if err != nil {
		return err
	}
	defer in.Close()
	w := &ingestWriter{in: in, offset: in.Opened.Offset, total: req.Total, expected: req.Expected}
	reqs, recvErr := receiveWrites(ctx, ss)
	for {
		resp, err := w.handle(req)
		if err != nil {
			return err
		}
		if err := ss.SendMsg(resp); err != nil {
			return err
		}
		select {
		case req = <-reqs:
		case err := <-recvErr:
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		case <-in.Done():
			// imaged ended the session while the client sent nothing:
			// the ingest expired.
			return in.Err()
		}
	}
}

// receiveWrites reads a write stream's requests until it ends, so that
// the handler can also see imaged end the session meanwhile.
func receiveWrites(ctx context.Context, ss grpc.ServerStream) (<-chan *api.WriteContentRequest, <-chan error) {
	reqs := make(chan *api.WriteContentRequest)
	errs := make(chan error, 1)
	go func() {
		for {
			req := &api.WriteContentRequest{}
			if err := ss.RecvMsg(req); err != nil {
				errs <- err
				return
			}
			select {
			case reqs <- req:
			case <-ctx.Done():
				return
			}
		}
	}()
	return reqs, errs
}

// ingestWriter is the gateway's side of one open ingest.
type ingestWriter struct {
	in        *imagedclient.Ingest
	offset    int64
	total     int64
	expected  string
	committed bool
}

func (w *ingestWriter) handle(req *api.WriteContentRequest) (*api.WriteContentResponse, error) {
	if req.Total > 0 {
		w.total = req.Total
	}
	if req.Expected != "" {
		w.expected = req.Expected
	}
	resp := &api.WriteContentResponse{Action: req.Action}
	switch req.Action {
	case api.WriteAction_STAT:
		st, err := w.in.Do(&imagedclient.IngestRequest{Op: imagedclient.IngestStat})
		if err != nil {
			return nil, err
		}
		fill(resp, st)
		resp.Total = w.total
		return resp, nil
	case api.WriteAction_WRITE, api.WriteAction_COMMIT:
	default:
		return nil, fmt.Errorf("unknown write action %v: %w", req.Action, errdefs.ErrInvalidArgument)
	}
	if err := w.write(req); err != nil {
		return nil, err
	}
	resp.Offset = w.offset
	resp.UpdatedAt = timestamppb.Now()
	if req.Action == api.WriteAction_COMMIT {
		// Nothing more goes into the file once it may be the blob.
		w.committed = true
		w.in.File.Close()
		st, err := w.in.Do(&imagedclient.IngestRequest{Op: imagedclient.IngestCommit, Size: w.total, Expected: w.expected, Labels: req.Labels})
		if err != nil {
			return nil, err
		}
		fill(resp, st)
		resp.Total = w.total
	}
	return resp, nil
}

// write puts a WRITE or COMMIT message's data at the ingest's offset, as
// imaged's own handler would: at the current offset, or at 0 after a
// truncation.
func (w *ingestWriter) write(req *api.WriteContentRequest) error {
	if req.Offset > 0 && req.Offset != w.offset {
		return fmt.Errorf("write at %d must happen at the current offset %d: %w", req.Offset, w.offset, errdefs.ErrOutOfRange)
	}
	if req.Offset == 0 && w.offset > 0 {
		st, err := w.in.Do(&imagedclient.IngestRequest{Op: imagedclient.IngestTruncate})
		if err != nil {
			return err
		}
		w.offset = st.Offset
	}
	if len(req.Data) == 0 {
		return nil
	}
	if w.committed {
		return fmt.Errorf("write after the commit: %w", errdefs.ErrFailedPrecondition)
	}
	n, err := w.in.File.WriteAt(req.Data, w.offset)
	if n > 0 {
		w.offset += int64(n)
		if werr := w.in.Wrote(int64(n)); err == nil {
			err = werr
		}
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("write: the content store is full: %v: %w", err, errdefs.ErrResourceExhausted)
	}
	return err
}

func fill(resp *api.WriteContentResponse, st *imagedclient.IngestReply) {
	resp.Offset, resp.Digest = st.Offset, st.Digest
	resp.StartedAt, resp.UpdatedAt = timestamppb.New(st.StartedAt), timestamppb.New(st.UpdatedAt)
}
