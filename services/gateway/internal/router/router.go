package router

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"berth.dev/pkg/batch"
	"berth.dev/pkg/lease"
	"berth.dev/services/gateway/internal/errand"
)

// Router sends each call to its backend.
type Router struct {
	backends []*Backend
	byName   map[string]*Backend
	// onCall sees every forwarded call before it goes out (the gateway
	// records namespaces there).
	onCall func(ctx context.Context, method string) error
	// clients, when set, names each call's connection to the daemons.
	clients *Clients
	// grace is how long a call waits for a daemon that is not connected.
	grace atomic.Int64
	// ingestSocket, when set, is imaged's ingest socket: content Writes
	// are served through it (see WriteContentAt).
	ingestSocket string
	// errands, when set, finishes lease calls imaged could not take
	// (see FinishLeases).
	errands *errand.Queue
	// lists are the listings held (listcache.go).
	lists heldListings
}

// New returns a router over backends. onCall may be nil.
func New(onCall func(ctx context.Context, method string) error, backends ...*Backend) *Router {
	r := &Router{backends: backends, byName: map[string]*Backend{}, onCall: onCall}
	r.grace.Store(int64(RestartGrace))
	for _, b := range backends {
		r.byName[b.Name] = b
	}
	return r
}

// SetRestartGrace sets how long a call waits for a daemon that is down
// (RestartGrace unless set); 0 fails such calls at once.
func (r *Router) SetRestartGrace(d time.Duration) { r.grace.Store(int64(d)) }

// TrackClients has the router name each forwarded call's connection in
// the berth-client metadata and report lease-creating connections to c.
func (r *Router) TrackClients(c *Clients) { r.clients = c }

// ServerOptions installs the router as the server's handler of unknown
// services, with the codec that lets frames through.
func (r *Router) ServerOptions() []grpc.ServerOption {
	opts := []grpc.ServerOption{
		grpc.ForceServerCodecV2(codec{}),
		grpc.UnknownServiceHandler(r.handle),
	}
	if r.clients != nil {
		opts = append(opts, grpc.StatsHandler(r.clients))
	}
	return opts
}

// Backends returns the daemons behind the router.
func (r *Router) Backends() []*Backend { return r.backends }

// Backend returns the named daemon.
func (r *Router) Backend(name string) (*Backend, bool) {
	b, ok := r.byName[name]
	return b, ok
}

func (r *Router) lookup(method string) *Backend {
	i := strings.LastIndexByte(method, '/')
	if i <= 1 {
		return nil
	}
	service := method[1:i]
	for _, b := range r.backends {
		if b.owns(service) {
			return b
		}
	}
	return nil
}

// forwarded metadata: what containerd clients send that daemons read.
var forwardKeys = []string{"containerd-namespace", "containerd-lease", "grpc-timeout"}

func outgoing(ctx context.Context, method string) context.Context {
	in, _ := metadata.FromIncomingContext(ctx)
	out := metadata.MD{}
	for _, k := range forwardKeys {
		if v := in.Get(k); len(v) > 0 {
			out.Set(k, v...)
		}
	}
	// Set by the gateway alone: what a client sends under this key is
	// not forwarded.
	if id, ok := ClientID(ctx); ok {
		out.Set(lease.ClientMetadata, id)
	}
	if batched[method] {
		batch.Request(out)
	}
	return metadata.NewOutgoingContext(ctx, out)
}

func (r *Router) handle(_ any, ss grpc.ServerStream) error {
	method, ok := grpc.MethodFromServerStream(ss)
	if !ok {
		return status.Error(codes.Internal, "no method in stream")
	}
	b := r.lookup(method)
	if b == nil {
		return status.Errorf(codes.Unimplemented, "unknown service or method %s", method)
	}
	ctx, cancel := context.WithCancel(ss.Context())
	defer cancel()
	if r.clients != nil {
		r.clients.saw(ctx, method)
	}
	if r.onCall != nil {
		if err := r.onCall(ctx, method); err != nil {
			return err
		}
	}
	b.awaitReady(ctx, time.Duration(r.grace.Load()))
	if method == contentWrite && r.ingestSocket != "" {
		if err := r.writeContent(ctx, ss); err != nil {
			return unavailable(b, err)
		}
		return nil
	}
	if r.errands != nil {
		switch method {
		case leaseCreate:
			return r.forwardLeaseCreate(ctx, ss, b)
		case leaseDelete:
			return r.forwardLeaseDelete(ctx, ss, b)
		}
	}
	if listed[method] {
		return r.forwardList(outgoing(ctx, method), ss, b, method)
	}
	switch shapeOf(method) {
	case unary:
		return forwardUnary(outgoing(ctx, method), ss, b, method)
	case serverStream:
		return forwardServerStream(outgoing(ctx, method), ss, b, method)
	}
	cs, err := b.Conn.NewStream(outgoing(ctx, method), &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, method, grpc.ForceCodecV2(codec{}))
	if err != nil {
		return unavailable(b, err)
	}
	sendErr := make(chan error, 1)
	go func() { sendErr <- pumpToBackend(ss, cs) }()
	// A bidirectional stream's header goes out at once: a client may wait
	// for it before sending (berth.tasks.v1 Attach does).
	if err := pumpToClient(cs, ss, ss.SendHeader, batched[method]); err != nil {
		return unavailable(b, err)
	}
	// The backend finished; a client still sending gets its answer anyway.
	return nil
}

func pumpToBackend(ss grpc.ServerStream, cs grpc.ClientStream) error {
	f := &frame{}
	for {
		if err := ss.RecvMsg(f); err != nil {
			if errors.Is(err, io.EOF) {
				return cs.CloseSend()
			}
			return err
		}
		if err := send(cs, f); err != nil {
			return err
		}
	}
}

// send sends f on, releasing its buffers if gRPC did not take them.
func send(s interface{ SendMsg(any) error }, f *frame) error {
	err := s.SendMsg(f)
	f.payload.Free()
	f.payload = nil
	return err
}

// pumpToClient forwards the backend's header (through header: sent at once,
// or set to go with the first message), messages, unpacking batches when
// unpack is set, and trailer.
func pumpToClient(cs grpc.ClientStream, ss grpc.ServerStream, header func(metadata.MD) error, unpack bool) error {
	md, err := cs.Header()
	if err != nil {
		return err
	}
	if len(md) > 0 {
		if err := header(md); err != nil {
			return err
		}
	}
	return pumpMessages(cs, ss, unpack, nil)
}

// pumpMessages forwards the backend's messages and trailer, unpacking
// batches when unpack is set and, when keep is set, showing it each
// message received (its bytes valid during the call) before it goes on.
func pumpMessages(cs grpc.ClientStream, ss grpc.ServerStream, unpack bool, keep func([]byte)) error {
	f := &frame{}
	for {
		if err := cs.RecvMsg(f); err != nil {
			ss.SetTrailer(cs.Trailer())
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		var err error
		if unpack {
			err = sendUnpacked(ss, f, keep)
		} else {
			err = send(ss, f)
		}
		if err != nil {
			return err
		}
	}
}

// sendUnpacked sends each message the batch f packs as a frame of its own
// (f itself when it is no batch). The frames are views of one buffer,
// which gRPC returns to its pool once the last is written: nothing is
// copied unless gRPC received f in pieces.
func sendUnpacked(ss grpc.ServerStream, f *frame, keep func([]byte)) error {
	buf := f.payload.MaterializeToBuffer(mem.DefaultBufferPool())
	f.payload.Free()
	f.payload = nil
	if keep != nil {
		keep(buf.ReadOnlyData())
	}
	msgs, ok := batch.Split(buf.ReadOnlyData())
	if !ok {
		return send(ss, &frame{payload: mem.BufferSlice{buf}})
	}
	rest := buf
	for i, m := range msgs {
		part := rest
		if i < len(msgs)-1 {
			part, rest = mem.SplitUnsafe(rest, len(m))
		}
		if err := send(ss, &frame{payload: mem.BufferSlice{part}}); err != nil {
			if i < len(msgs)-1 {
				rest.Free()
			}
			return err
		}
	}
	return nil
}

// unavailable names the daemon when it could not be reached, so an operator
// knows which one to look at; statuses the daemon itself returned pass
// unchanged.
func unavailable(b *Backend, err error) error {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Unavailable || !transportFailure(st.Message()) {
		return err
	}
	// A caller is waiting for the daemon: try it again at once rather than
	// after the backoff grown while it was down (up to a second), which
	// would otherwise be most of the time a restarted taskd takes to answer.
	b.Conn.ResetConnectBackoff()
	return status.Errorf(codes.Unavailable, "%s is unavailable (%s): %s", b.Name, b.Socket, st.Message())
}

func transportFailure(msg string) bool {
	return strings.Contains(msg, "connection error") || strings.Contains(msg, "error reading from server") ||
		strings.Contains(msg, "transport is closing") || strings.Contains(msg, "dial")
}
