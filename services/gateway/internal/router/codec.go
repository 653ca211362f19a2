package router

import (
	"fmt"

	"google.golang.org/grpc/encoding"
	// Registers the proto codec the gateway's own services use.
	_ "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
)

// frame is an undecoded gRPC message: the buffers gRPC read it into,
// referenced rather than copied, and handed back to gRPC (which frees them
// once written) when the frame is sent on.
type frame struct{ payload mem.BufferSlice }

// codec passes frames through untouched and encodes everything else as
// protobuf, so the services the gateway serves itself keep working when it
// is forced on the whole server. Its name must be "proto" to match the
// content subtype clients send. It is a gRPC CodecV2 so that a forwarded
// message is never copied or materialized: a 1 MiB content write used to be
// copied twice on its way through.
type codec struct{}

var protoCodec = encoding.GetCodecV2("proto")

func (codec) Name() string { return "proto" }

func (codec) Marshal(v any) (mem.BufferSlice, error) {
	if f, ok := v.(*frame); ok {
		// gRPC frees what Marshal returns once sent: the reference taken
		// in Unmarshal moves to it.
		p := f.payload
		f.payload = nil
		return p, nil
	}
	if protoCodec == nil {
		return nil, fmt.Errorf("codec: no proto codec registered to marshal %T", v)
	}
	return protoCodec.Marshal(v)
}

func (codec) Unmarshal(data mem.BufferSlice, v any) error {
	if f, ok := v.(*frame); ok {
		// gRPC frees data after Unmarshal returns: keep a reference.
		data.Ref()
		f.payload = data
		return nil
	}
	if protoCodec == nil {
		return fmt.Errorf("codec: no proto codec registered to unmarshal into %T", v)
	}
	return protoCodec.Unmarshal(data, v)
}
