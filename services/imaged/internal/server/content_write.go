package server

import (
	"errors"
	"fmt"
	"io"

	api "github.com/containerd/containerd/api/services/content/v1"
	"github.com/containerd/errdefs"
	"google.golang.org/protobuf/types/known/timestamppb"

	"berth.dev/services/imaged/internal/content"
)

// Write is containerd's ingest protocol: the first message names the ref
// (and maybe the expected digest and total); then STAT, WRITE and COMMIT
// actions each get one response carrying the ingest's offset.
func (s *Content) Write(ss api.Content_WriteServer) error {
	ctx := ss.Context()
	req, err := ss.Recv()
	if err != nil {
		return err
	}
	if req.Ref == "" {
		return fmt.Errorf("first write message must name a ref: %w", errdefs.ErrInvalidArgument)
	}
	if req.Expected != "" {
		if _, err := s.Store.Info(ctx, req.Expected); err == nil {
			return fmt.Errorf("content %s: %w", req.Expected, errdefs.ErrAlreadyExists)
		}
	}
	w, err := s.Store.Writer(content.ClientWrite(ctx), req.Ref, req.Total, req.Expected)
	if err != nil {
		return err
	}
	defer w.Close()
	reqs, recvErr := receive(ss)
	total, expected := req.Total, req.Expected
	for {
		if req.Total > 0 {
			total = req.Total
		}
		if req.Expected != "" {
			expected = req.Expected
		}
		st := w.Status()
		resp := &api.WriteContentResponse{Action: req.Action, Offset: st.Offset}
		switch req.Action {
		case api.WriteAction_STAT:
			resp.Digest = w.Digest().String()
			resp.StartedAt, resp.UpdatedAt, resp.Total = st.StartedAt, st.UpdatedAt, total
		case api.WriteAction_WRITE, api.WriteAction_COMMIT:
			if req.Offset > 0 && req.Offset != st.Offset {
				return fmt.Errorf("write at %d must happen at the current offset %d: %w", req.Offset, st.Offset, errdefs.ErrOutOfRange)
			}
			if req.Offset == 0 && st.Offset > 0 {
				if err := w.Truncate(0); err != nil {
					return err
				}
				resp.Offset = 0
			}
			if len(req.Data) > 0 {
				n, err := w.Write(req.Data)
				if err != nil {
					return fmt.Errorf("write %s: %w", req.Ref, err)
				}
				resp.Offset += int64(n)
			}
			if req.Action == api.WriteAction_COMMIT {
				if err := w.Commit(ctx, total, expected, req.Labels); err != nil {
					return err
				}
			}
			resp.Digest = w.Digest().String()
			resp.UpdatedAt = timestamppb.Now()
		default:
			return fmt.Errorf("unknown write action %v: %w", req.Action, errdefs.ErrInvalidArgument)
		}
		if err := ss.Send(resp); err != nil {
			return err
		}
		select {
		case req = <-reqs:
		case err := <-recvErr:
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		case <-w.Expired():
			// A client that stopped sending loses the ingest; the store
			// released it and removed its data.
			return w.Err()
		}
	}
}

// receive reads a write stream's requests until it ends (the stream's
// context ends with the handler), so that the handler can also wait for
// its ingest to expire.
func receive(ss api.Content_WriteServer) (<-chan *api.WriteContentRequest, <-chan error) {
	reqs := make(chan *api.WriteContentRequest)
	errs := make(chan error, 1)
	go func() {
		for {
			req, err := ss.Recv()
			if err != nil {
				errs <- err
				return
			}
			select {
			case reqs <- req:
			case <-ss.Context().Done():
				return
			}
		}
	}()
	return reqs, errs
}
