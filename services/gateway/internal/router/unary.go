package router

import (
	"context"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// unaryMethods remembers, per full method name, whether the registered
// descriptors say it is unary.
var unaryMethods sync.Map // string -> bool

// isUnary reports whether method is a unary call by the protobuf
// descriptors linked into the gateway (every containerd and Berth API it
// routes); a method it cannot find is taken as a stream.
func isUnary(method string) bool {
	if v, ok := unaryMethods.Load(method); ok {
		return v.(bool)
	}
	unary := false
	if i := strings.LastIndexByte(method, '/'); i > 1 {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(method[1:i]))
		if sd, ok := d.(protoreflect.ServiceDescriptor); err == nil && ok {
			if md := sd.Methods().ByName(protoreflect.Name(method[i+1:])); md != nil {
				unary = !md.IsStreamingClient() && !md.IsStreamingServer()
			}
		}
	}
	unaryMethods.Store(method, unary)
	return unary
}

// forwardUnary forwards a unary call as one: the request with its end of
// stream goes out in one go, and the answer's header, message and status
// come back together. A stream's pumps send each of these on its own (the
// header as soon as the daemon's arrives, the end of the request as a
// frame of its own, from a second goroutine), and every one wakes the
// processes on both ends: on a busy node that was most of a call's time
// through the gateway.
func forwardUnary(ctx context.Context, ss grpc.ServerStream, b *Backend, method string) error {
	req, resp := &frame{}, &frame{}
	if err := ss.RecvMsg(req); err != nil {
		return err
	}
	var header, trailer metadata.MD
	err := b.Conn.Invoke(ctx, method, req, resp, grpc.ForceCodecV2(codec{}), grpc.Header(&header), grpc.Trailer(&trailer))
	// gRPC frees what it sent; a request it never took is released here.
	req.payload.Free()
	if len(header) > 0 {
		ss.SetHeader(header)
	}
	ss.SetTrailer(trailer)
	if err != nil {
		return unavailable(b, err)
	}
	return send(ss, resp)
}
