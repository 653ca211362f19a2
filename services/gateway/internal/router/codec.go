package router

import (
	"fmt"

	"google.golang.org/protobuf/proto"
)

// frame is an undecoded gRPC message.
type frame struct{ payload []byte }

// codec passes frames through untouched and encodes everything else as
// protobuf, so the services the gateway serves itself keep working when it
// is forced on the whole server. Its name must be "proto" to match the
// content subtype clients send.
type codec struct{}

func (codec) Name() string { return "proto" }

func (codec) Marshal(v any) ([]byte, error) {
	switch m := v.(type) {
	case *frame:
		return m.payload, nil
	case proto.Message:
		return proto.Marshal(m)
	}
	return nil, fmt.Errorf("codec: cannot marshal %T", v)
}

func (codec) Unmarshal(data []byte, v any) error {
	switch m := v.(type) {
	case *frame:
		// gRPC may reuse data after Unmarshal returns.
		m.payload = append(m.payload[:0], data...)
		return nil
	case proto.Message:
		return proto.Unmarshal(data, m)
	}
	return fmt.Errorf("codec: cannot unmarshal into %T", v)
}
