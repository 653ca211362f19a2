package grpcserver

import (
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	// Registers the proto codec the servers' messages are encoded with.
	_ "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
)

// Encoded is a message already in its wire encoding, sent as it is: a
// handler that keeps its answers encoded (taskd's container listings)
// returns or sends one instead of a message gRPC would encode again. The
// bytes are handed to the transport without a copy, so they must not
// change after: an Encoded is shared by every call that sends it.
type Encoded []byte

// codec sends Encoded untouched and everything else as protobuf. Its name
// is "proto" to match the content subtype clients send.
type codec struct{}

var protoCodec = encoding.GetCodecV2("proto")

func (codec) Name() string { return "proto" }

func (codec) Marshal(v any) (mem.BufferSlice, error) {
	if e, ok := v.(Encoded); ok {
		// A SliceBuffer is not pooled: gRPC's Free after the write leaves
		// the shared bytes alone.
		return mem.BufferSlice{mem.SliceBuffer(e)}, nil
	}
	if protoCodec == nil {
		return nil, fmt.Errorf("codec: no proto codec registered to marshal %T", v)
	}
	return protoCodec.Marshal(v)
}

func (codec) Unmarshal(data mem.BufferSlice, v any) error {
	if protoCodec == nil {
		return fmt.Errorf("codec: no proto codec registered to unmarshal into %T", v)
	}
	return protoCodec.Unmarshal(data, v)
}

// encodedCodec lets every server of New send Encoded messages. A server
// given a codec of its own among New's extra options (the gateway's) has
// that one instead: options apply in order.
func encodedCodec() grpc.ServerOption { return grpc.ForceServerCodecV2(codec{}) }
