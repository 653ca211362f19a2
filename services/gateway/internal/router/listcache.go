package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/containerd/errdefs"
	"google.golang.org/grpc"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"

	"berth.dev/pkg/batch"
	"berth.dev/pkg/listcache"
	"berth.dev/pkg/namespace"
)

// listed names the list methods whose unfiltered answers the gateway keeps
// (pkg/listcache): taskd's containers, one listing per namespace for both.
// Each call still asks taskd, with the tag of the listing held; when taskd
// answers that it is unchanged, the gateway sends what it holds, and the
// 500-container listing does not cross taskd's socket, nor wake the
// gateway's reading of it, again.
var listed = map[string]bool{
	"/containerd.services.containers.v1.Containers/List":       true,
	"/containerd.services.containers.v1.Containers/ListStream": true,
}

// heldListing is a listing as taskd sent it: the encoding of a
// ListContainersResponse, whose entries are each a ListContainerMessage's.
// Never changed once held: calls send its bytes at once.
type heldListing struct {
	tag string
	enc []byte
	// entries are enc's entries as gRPC sends them, made once: a list
	// sends each without an allocation of its own.
	entries []mem.BufferSlice
}

// heldListings are the listings held, by namespace.
type heldListings struct {
	mu   sync.Mutex
	byNS map[string]*heldListing
}

func (h *heldListings) get(ns string) *heldListing {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.byNS[ns]
}

// set holds l for ns, or, when l is nil (taskd tagged nothing: a
// namespace being written), nothing.
func (h *heldListings) set(ns string, l *heldListing) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if l == nil {
		delete(h.byNS, ns)
		return
	}
	if h.byNS == nil {
		h.byNS = map[string]*heldListing{}
	}
	h.byNS[ns] = l
}

// ForgetNamespace lets go of the listing held for ns, a namespace deleted:
// a namespace emptied by deletes no one listed since would otherwise stay
// held for good.
func (r *Router) ForgetNamespace(ns string) { r.lists.set(ns, nil) }

// newHeld holds enc, the listing tagged tag, when it splits into
// entries. enc becomes the held listing's: the caller passes bytes of its
// own that nothing changes after.
func newHeld(tag string, enc []byte) *heldListing {
	entries, ok := batch.Split(enc)
	if !ok && len(enc) > 0 {
		return nil
	}
	h := &heldListing{tag: tag, enc: enc, entries: make([]mem.BufferSlice, len(entries))}
	for i, e := range entries {
		h.entries[i] = bufferOf(e)
	}
	return h
}

func bufferOf(b []byte) mem.BufferSlice {
	// Not pooled: gRPC's Free after the write leaves the held bytes alone.
	return mem.BufferSlice{mem.SliceBuffer(b)}
}

// headerOf returns taskd's tag and whether it said unchanged, and md
// without them for the client.
func headerOf(md metadata.MD) (tag string, unchanged bool, rest metadata.MD) {
	if v := md.Get(listcache.Tag); len(v) > 0 {
		tag = v[0]
	}
	if v := md.Get(listcache.Unchanged); len(v) > 0 && v[0] == "1" {
		unchanged = true
	}
	if tag == "" && !unchanged {
		return "", false, md
	}
	rest = md.Copy()
	delete(rest, listcache.Tag)
	delete(rest, listcache.Unchanged)
	return tag, unchanged, rest
}

// forwardList forwards a call of a listed method, answering from the
// listing held when taskd says it is unchanged and holding the new one
// when taskd tags it. A filtered list (a request that is not empty) is
// forwarded as any other call.
func (r *Router) forwardList(ctx context.Context, ss grpc.ServerStream, b *Backend, method string) error {
	req := &frame{}
	if err := ss.RecvMsg(req); err != nil {
		return err
	}
	stream := shapeOf(method) == serverStream
	ns, _ := namespace.FromContext(ctx)
	if req.payload.Len() != 0 || ns == "" {
		if stream {
			return forwardServerStreamOf(ctx, ss, b, method, req)
		}
		return forwardUnaryOf(ctx, ss, b, method, req)
	}
	held := r.lists.get(ns)
	tag := listcache.None
	if held != nil {
		tag = held.tag
	}
	ctx = metadata.AppendToOutgoingContext(ctx, listcache.Held, tag)
	if stream {
		return r.listStream(ctx, ss, b, method, req, ns, held)
	}
	return r.list(ctx, ss, b, method, req, ns, held)
}

func (r *Router) list(ctx context.Context, ss grpc.ServerStream, b *Backend, method string, req *frame, ns string, held *heldListing) error {
	resp := &frame{}
	var header, trailer metadata.MD
	err := b.Conn.Invoke(ctx, method, req, resp, grpc.ForceCodecV2(codec{}), grpc.Header(&header), grpc.Trailer(&trailer))
	req.payload.Free()
	tag, unchanged, header := headerOf(header)
	if len(header) > 0 {
		ss.SetHeader(header)
	}
	ss.SetTrailer(trailer)
	if err != nil {
		return unavailable(b, err)
	}
	if unchanged && held != nil {
		resp.payload.Free()
		return send(ss, &frame{payload: bufferOf(held.enc)})
	}
	var next *heldListing
	if tag != "" {
		buf := resp.payload.MaterializeToBuffer(mem.DefaultBufferPool())
		next = newHeld(tag, append([]byte(nil), buf.ReadOnlyData()...))
		buf.Free()
	}
	r.lists.set(ns, next)
	return send(ss, resp)
}

func (r *Router) listStream(ctx context.Context, ss grpc.ServerStream, b *Backend, method string, req *frame, ns string, held *heldListing) error {
	cs, err := b.Conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method, grpc.ForceCodecV2(codec{}))
	if err != nil {
		req.payload.Free()
		return unavailable(b, err)
	}
	if err := send(cs, req); err != nil && !errors.Is(err, io.EOF) {
		return unavailable(b, err)
	}
	md, err := cs.Header()
	if err != nil {
		return unavailable(b, err)
	}
	tag, unchanged, md := headerOf(md)
	if len(md) > 0 {
		ss.SetHeader(md)
	}
	if unchanged && held != nil {
		// No message follows; the status does.
		f := &frame{}
		if err := cs.RecvMsg(f); !errors.Is(err, io.EOF) {
			ss.SetTrailer(cs.Trailer())
			if err == nil {
				f.payload.Free()
				return fmt.Errorf("%s sent a listing after saying it was unchanged: %w", b.Name, errdefs.ErrInternal)
			}
			return unavailable(b, err)
		}
		ss.SetTrailer(cs.Trailer())
		// gRPC reads the buffers without changing them, nor the slices,
		// and frees them (SliceBuffers: a no-op) once written.
		for _, e := range held.entries {
			f.payload = e
			if err := send(ss, f); err != nil {
				return err
			}
		}
		return nil
	}
	var kept []byte
	keep := func([]byte) {}
	if tag != "" {
		keep = func(b []byte) { kept = append(kept, b...) }
	}
	if err := pumpMessages(cs, ss, true, keep); err != nil {
		return unavailable(b, err)
	}
	var next *heldListing
	if tag != "" {
		next = newHeld(tag, kept)
	}
	r.lists.set(ns, next)
	return nil
}
