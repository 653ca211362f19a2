package router

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// shape is how a method streams.
type shape int

const (
	// bidi covers every method the descriptors do not describe: client
	// streams and bidirectional streams, and anything unknown.
	bidi shape = iota
	unary
	// serverStream takes one request and answers with a stream.
	serverStream
)

// shapes remembers each full method name's shape.
var shapes sync.Map // string -> shape

// shapeOf tells how method streams by the protobuf descriptors linked into
// the gateway (every containerd and Berth API it routes); a method it
// cannot find is taken as bidirectional, which forwards anything.
func shapeOf(method string) shape {
	if v, ok := shapes.Load(method); ok {
		return v.(shape)
	}
	sh := bidi
	if i := strings.LastIndexByte(method, '/'); i > 1 {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(method[1:i]))
		if sd, ok := d.(protoreflect.ServiceDescriptor); err == nil && ok {
			if md := sd.Methods().ByName(protoreflect.Name(method[i+1:])); md != nil && !md.IsStreamingClient() {
				sh = unary
				if md.IsStreamingServer() {
					sh = serverStream
				}
			}
		}
	}
	shapes.Store(method, sh)
	return sh
}

// forwardUnary forwards a unary call as one: the request with its end of
// stream goes out in one go, and the answer's header, message and status
// come back together. A stream's pumps send each of these on its own (the
// header as soon as the daemon's arrives, the end of the request as a
// frame of its own, from a second goroutine), and every one wakes the
// processes on both ends: on a busy node that was most of a call's time
// through the gateway.
func forwardUnary(ctx context.Context, ss grpc.ServerStream, b *Backend, method string) error {
	req := &frame{}
	if err := ss.RecvMsg(req); err != nil {
		return err
	}
	return forwardUnaryOf(ctx, ss, b, method, req)
}

// forwardUnaryOf forwards req, received already, as forwardUnary does.
func forwardUnaryOf(ctx context.Context, ss grpc.ServerStream, b *Backend, method string, req *frame) error {
	resp := &frame{}
	err := invoke(ctx, ss, b, method, req, resp)
	// gRPC frees what it sent; a request it never took is released here.
	req.payload.Free()
	if err != nil {
		return unavailable(b, err)
	}
	return send(ss, resp)
}

// invoke makes a unary call of method to b and relays the daemon's header
// and trailer to the client's stream ss.
func invoke(ctx context.Context, ss grpc.ServerStream, b *Backend, method string, req any, resp *frame) error {
	var header, trailer metadata.MD
	err := b.Conn.Invoke(ctx, method, req, resp, grpc.ForceCodecV2(codec{}), grpc.Header(&header), grpc.Trailer(&trailer))
	if len(header) > 0 {
		ss.SetHeader(header)
	}
	ss.SetTrailer(trailer)
	return err
}

// forwardServerStream forwards a call of one request and a stream of
// answers (content Read, the lists) without a second goroutine: the request
// goes out with its end of stream, and the daemon's header goes back with
// the first answer rather than in a write of its own.
func forwardServerStream(ctx context.Context, ss grpc.ServerStream, b *Backend, method string) error {
	req := &frame{}
	if err := ss.RecvMsg(req); err != nil {
		return err
	}
	return forwardServerStreamOf(ctx, ss, b, method, req)
}

// forwardServerStreamOf forwards req, received already, as
// forwardServerStream does.
func forwardServerStreamOf(ctx context.Context, ss grpc.ServerStream, b *Backend, method string, req *frame) error {
	cs, err := b.Conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method, grpc.ForceCodecV2(codec{}))
	if err != nil {
		req.payload.Free()
		return unavailable(b, err)
	}
	// A failed send ends the stream; its status comes from the receive.
	if err := send(cs, req); err != nil && !errors.Is(err, io.EOF) {
		return unavailable(b, err)
	}
	if err := pumpToClient(cs, ss, ss.SetHeader, batched[method]); err != nil {
		return unavailable(b, err)
	}
	return nil
}
