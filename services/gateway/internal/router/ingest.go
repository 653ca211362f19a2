package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	api "github.com/containerd/containerd/api/services/content/v1"
	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
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
// gRPC hops). The gateway hashes the data as it writes it, from the state
// imaged opened the ingest with, and hands imaged the hash with its
// reports, so imaged neither reads the data back nor is woken for every
// message; imaged answers STAT, and verifies and commits the blob.
func (r *Router) WriteContentAt(socket string) { r.ingestSocket = socket }

// writeContent serves containerd's ingest protocol: WRITE messages are
// answered once their data is in the file, with the offset and no digest
// (which the protocol leaves to the implementation for WRITE); STAT,
// truncation and COMMIT wait for imaged.
func (r *Router) writeContent(ctx context.Context, ss grpc.ServerStream) error {
	m, err := receiveWrite(ss)
	if err != nil {
		return err
	}
	defer func() { m.free() }()
	req := m.req
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
	if h := in.Hash(); h != nil {
		w.hs = newHasher(in, h)
		defer w.hs.close()
	}
	msgs, recvErr := receiveWrites(ctx, ss)
	for {
		resp, err := w.handle(m)
		m.free()
		if err != nil {
			return err
		}
		if err := ss.SendMsg(resp); err != nil {
			return err
		}
		select {
		case m = <-msgs:
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
func receiveWrites(ctx context.Context, ss grpc.ServerStream) (<-chan *writeMessage, <-chan error) {
	msgs := make(chan *writeMessage)
	errs := make(chan error, 1)
	go func() {
		for {
			m, err := receiveWrite(ss)
			if err != nil {
				errs <- err
				return
			}
			select {
			case msgs <- m:
			case <-ctx.Done():
				m.free()
				return
			}
		}
	}()
	return msgs, errs
}

func receiveWrite(ss grpc.ServerStream) (*writeMessage, error) {
	f := &frame{}
	if err := ss.RecvMsg(f); err != nil {
		return nil, err
	}
	m, err := decodeWrite(f)
	if err != nil {
		f.payload.Free()
		return nil, err
	}
	return m, nil
}

// ingestWriter is the gateway's side of one open ingest.
type ingestWriter struct {
	in *imagedclient.Ingest
	// hs hashes the data up to offset; nil when imaged sent no state to
	// start from (every write is then reported for imaged to hash).
	hs        *hasher
	offset    int64
	total     int64
	expected  string
	committed bool
}

// do reports what was written, then sends an operation imaged answers.
func (w *ingestWriter) do(req *imagedclient.IngestRequest) (*imagedclient.IngestReply, error) {
	if w.hs != nil {
		if err := w.hs.sync(); err != nil {
			return nil, err
		}
	}
	return w.in.Do(req)
}

func (w *ingestWriter) handle(m *writeMessage) (*api.WriteContentResponse, error) {
	req := m.req
	if req.Total > 0 {
		w.total = req.Total
	}
	if req.Expected != "" {
		w.expected = req.Expected
	}
	resp := &api.WriteContentResponse{Action: req.Action}
	switch req.Action {
	case api.WriteAction_STAT:
		st, err := w.do(&imagedclient.IngestRequest{Op: imagedclient.IngestStat})
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
	if err := w.write(m); err != nil {
		return nil, err
	}
	resp.Offset = w.offset
	resp.UpdatedAt = timestamppb.Now()
	if req.Action == api.WriteAction_COMMIT {
		// Nothing more goes into the file once it may be the blob.
		w.committed = true
		w.in.File.Close()
		st, err := w.do(&imagedclient.IngestRequest{Op: imagedclient.IngestCommit, Size: w.total, Expected: w.expected, Labels: req.Labels})
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
func (w *ingestWriter) write(m *writeMessage) error {
	req := m.req
	if req.Offset > 0 && req.Offset != w.offset {
		return fmt.Errorf("write at %d must happen at the current offset %d: %w", req.Offset, w.offset, errdefs.ErrOutOfRange)
	}
	if req.Offset == 0 && w.offset > 0 {
		st, err := w.do(&imagedclient.IngestRequest{Op: imagedclient.IngestTruncate})
		if err != nil {
			return err
		}
		w.offset = st.Offset
		if w.hs != nil {
			w.hs.reset() // imaged truncates to 0 only
		}
	}
	if m.size() == 0 {
		return nil
	}
	if w.committed {
		return fmt.Errorf("write after the commit: %w", errdefs.ErrFailedPrecondition)
	}
	n, err := pwritev(w.in.File, m.data, w.offset)
	if n > 0 {
		w.offset += int64(n)
		if w.hs != nil {
			w.hs.add(m, n)
		} else if werr := w.in.Wrote(int64(n)); err == nil {
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

// pwritev writes bufs at off, to the end or the first error.
func pwritev(f *os.File, bufs [][]byte, off int64) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	total := 0
	var werr error
	if err := rc.Write(func(fd uintptr) bool {
		for len(bufs) > 0 {
			iov := bufs[:min(len(bufs), 1024)] // IOV_MAX
			n, err := unix.Pwritev(int(fd), iov, off)
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			if err != nil {
				werr = err
				return true
			}
			if n == 0 {
				werr = io.ErrShortWrite
				return true
			}
			total += n
			off += int64(n)
			for n > 0 {
				if n >= len(bufs[0]) {
					n -= len(bufs[0])
					bufs = bufs[1:]
				} else {
					bufs[0] = bufs[0][n:]
					n = 0
				}
			}
		}
		return true
	}); err != nil {
		return total, err
	}
	return total, werr
}
