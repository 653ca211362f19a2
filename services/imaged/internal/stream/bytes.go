package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	transfertypes "github.com/containerd/containerd/api/types/transfer"
	"github.com/containerd/errdefs"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// containerd's transfer streams send Data of at most maxData bytes and let
// the sender run window bytes ahead of what the receiver granted.
const (
	maxData = 32 * 1024
	window  = 2 * maxData
)

// Reader reads the bytes a client sends on s (an import): it grants the
// client window bytes at a time and returns the Data it receives until
// the client closes its side.
func Reader(s Stream) io.ReadCloser { return &reader{s: s} }

type reader struct {
	s       Stream
	granted int64 // bytes the client may still send
	buf     []byte
	err     error
}

func (r *reader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.granted < window {
			// The client may have closed its side already; a failed grant
			// then shows as the end of the stream on Recv.
			if err := r.s.Send(mustAny(&transfertypes.WindowUpdate{Update: window})); err == nil {
				r.granted += window
			}
		}
		a, err := r.s.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				r.err = io.EOF
			} else {
				r.err = fmt.Errorf("receive stream: %w", err)
			}
			continue
		}
		var d transfertypes.Data
		if err := a.UnmarshalTo(&d); err != nil {
			r.err = fmt.Errorf("stream sent %s, not data: %w", a.GetTypeUrl(), errdefs.ErrInvalidArgument)
			continue
		}
		r.granted -= int64(len(d.Data))
		r.buf = d.Data
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (r *reader) Close() error { return r.s.Close() }

// Writer sends what is written to s as Data (an export), never more than
// the client granted with WindowUpdate messages. Close ends the stream.
func Writer(ctx context.Context, s Stream) io.WriteCloser {
	w := &writer{ctx: ctx, s: s, more: make(chan struct{}, 1)}
	go w.grants()
	return w
}

type writer struct {
	ctx  context.Context
	s    Stream
	mu   sync.Mutex
	left int64 // bytes granted and not yet sent
	gone error // the client stopped granting
	more chan struct{}
}

// grants receives the client's window updates until the stream ends.
func (w *writer) grants() {
	for {
		a, err := w.s.Recv()
		if err != nil {
			w.mu.Lock()
			w.gone = fmt.Errorf("export stream closed by the client: %w", io.ErrClosedPipe)
			w.mu.Unlock()
			w.signal()
			return
		}
		var u transfertypes.WindowUpdate
		if a.UnmarshalTo(&u) != nil {
			continue
		}
		w.mu.Lock()
		w.left += int64(u.Update)
		w.mu.Unlock()
		w.signal()
	}
}

func (w *writer) signal() {
	select {
	case w.more <- struct{}{}:
	default:
	}
}

func (w *writer) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		w.mu.Lock()
		left, gone := w.left, w.gone
		w.mu.Unlock()
		if left == 0 {
			if gone != nil {
				return n, gone
			}
			select {
			case <-w.more:
				continue
			case <-w.ctx.Done():
				return n, w.ctx.Err()
			}
		}
		size := min(int64(len(p)), left, maxData)
		if err := w.s.Send(mustAny(&transfertypes.Data{Data: p[:size]})); err != nil {
			return n, fmt.Errorf("send stream: %w", err)
		}
		w.mu.Lock()
		w.left -= size
		w.mu.Unlock()
		n += int(size)
		p = p[size:]
	}
	return n, nil
}

func (w *writer) Close() error { return w.s.Close() }

// mustAny wraps m; the messages here always marshal.
func mustAny(m proto.Message) *anypb.Any {
	a, err := Any(m)
	if err != nil {
		panic(err)
	}
	return a
}

// Any wraps m the way containerd's typeurl does: its type URL is the
// message's bare full name, which containerd's clients insist on when
// they unmarshal.
func Any(m proto.Message) (*anypb.Any, error) {
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, err
	}
	return &anypb.Any{TypeUrl: string(m.ProtoReflect().Descriptor().FullName()), Value: b}, nil
}
