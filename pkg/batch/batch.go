package batch

import (
	"context"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Metadata is the gRPC metadata key with which the gateway asks a daemon
// for batched messages. The gateway sets it alone: what a client sends
// under it is not forwarded, so no client of the node socket ever receives
// a batch.
const Metadata = "berth-stream-batch"

// Size is the size a batch grows to before the next one starts (one
// message larger than that is a batch of its own). Small enough that the
// gateway starts sending on while the daemon still sends the rest, and
// that both ends take a batch's buffer from gRPC's 32 KiB buffer pool (the
// next one up is 1 MiB, cleared at every use), large enough that a 1 MiB
// listing is a few dozen frames instead of hundreds.
const Size = 32 << 10

// Requested reports whether the caller of ctx's stream asked for batches.
func Requested(ctx context.Context) bool {
	md, _ := metadata.FromIncomingContext(ctx)
	v := md.Get(Metadata)
	return len(v) > 0 && v[0] == "1"
}

// Request adds the ask for batches to outgoing metadata.
func Request(md metadata.MD) { md.Set(Metadata, "1") }

// A batch is the concatenation of the encodings of messages whose only
// field is number 1, length-delimited (a ListContainerMessage is
// `Container container = 1`). Such a message's encoding is its field's
// tag, length and bytes, so a batch splits back into the exact encodings
// without decoding anything, and a single unbatched message is a batch of
// one: a daemon that ignores the ask is still read right.

// Add appends to batches the message whose field 1 holds field (an
// encoded message), starting a new batch when the last would grow past
// Size.
func Add(batches [][]byte, field []byte) [][]byte {
	n := protowire.SizeTag(1) + protowire.SizeBytes(len(field))
	if len(batches) == 0 || (len(batches[len(batches)-1]) > 0 && len(batches[len(batches)-1])+n > Size) {
		batches = append(batches, make([]byte, 0, max(Size, n)))
	}
	last := &batches[len(batches)-1]
	*last = protowire.AppendTag(*last, 1, protowire.BytesType)
	*last = protowire.AppendBytes(*last, field)
	return batches
}

// Split returns the messages b packs, each a sub-slice of b, in order.
// It reports false when b is not a batch (a message with other fields, or
// none): such a message is passed on as it is.
func Split(b []byte) ([][]byte, bool) {
	var out [][]byte
	for rest := b; len(rest) > 0; {
		num, typ, n := protowire.ConsumeTag(rest)
		if n < 0 || num != 1 || typ != protowire.BytesType {
			return nil, false
		}
		m := protowire.ConsumeFieldValue(num, typ, rest[n:])
		if m < 0 {
			return nil, false
		}
		out = append(out, rest[:n+m])
		rest = rest[n+m:]
	}
	return out, len(out) > 0
}

// Message returns a message whose encoding is b, for sending a batch
// through a gRPC stream whose codec encodes protobuf messages. (b is
// carried as the unknown fields of an empty message, which encoding
// writes out unchanged.)
func Message(b []byte) proto.Message {
	m := &emptypb.Empty{}
	m.ProtoReflect().SetUnknown(protoreflect.RawFields(b))
	return m
}
