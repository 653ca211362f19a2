package router

import (
	"fmt"

	api "github.com/containerd/containerd/api/services/content/v1"
	"github.com/containerd/errdefs"
	"google.golang.org/protobuf/proto"
)

// writeMessage is a content Write request whose data was left in the
// buffers gRPC received it into: written from there into the ingest file,
// a WRITE's megabyte is neither copied nor allocated on the way.
type writeMessage struct {
	req  *api.WriteContentRequest // every field but Data
	data [][]byte
	f    *frame // holds data's buffers until free
}

func (m *writeMessage) size() int {
	n := 0
	for _, b := range m.data {
		n += len(b)
	}
	return n
}

func (m *writeMessage) free() {
	if m.f != nil && m.f.payload != nil {
		m.f.payload.Free()
		m.f.payload = nil
	}
}

// dataField is WriteContentRequest.data's field number.
const dataField = 6

// decodeWrite splits a received frame into the request's data, left in
// place, and the rest, which is small and decoded as usual.
func decodeWrite(f *frame) (*writeMessage, error) {
	bufs := make([][]byte, len(f.payload))
	for i, b := range f.payload {
		bufs[i] = b.ReadOnlyData()
	}
	rest, data, err := splitData(bufs)
	if err != nil {
		return nil, err
	}
	req := &api.WriteContentRequest{}
	if err := proto.Unmarshal(rest, req); err != nil {
		return nil, fmt.Errorf("write request: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	return &writeMessage{req: req, data: data, f: f}, nil
}

// splitData walks a protobuf message spread over bufs and returns its
// encoding without the data field, and the data field's bytes as slices
// of bufs.
func splitData(bufs [][]byte) (rest []byte, data [][]byte, err error) {
	c := &cursor{bufs: bufs}
	bad := fmt.Errorf("write request: malformed message: %w", errdefs.ErrInvalidArgument)
	for !c.end() {
		start := len(rest)
		tag, ok := c.varint(&rest)
		if !ok {
			return nil, nil, bad
		}
		switch tag & 7 {
		case 0:
			ok = c.skipVarint(&rest)
		case 1:
			ok = c.copyN(&rest, 8)
		case 5:
			ok = c.copyN(&rest, 4)
		case 2:
			if tag>>3 == dataField {
				var n uint64
				var scratch []byte
				if n, ok = c.varint(&scratch); ok {
					rest = rest[:start]
					data, ok = c.take(n)
				}
				break
			}
			var n uint64
			if n, ok = c.varint(&rest); ok {
				ok = c.copyN(&rest, n)
			}
		default:
			ok = false
		}
		if !ok {
			return nil, nil, bad
		}
	}
	return rest, data, nil
}

// cursor reads bytes across a list of buffers.
type cursor struct {
	bufs [][]byte
	i    int // buffer
	off  int // offset in bufs[i]
}

func (c *cursor) end() bool {
	for c.i < len(c.bufs) && c.off == len(c.bufs[c.i]) {
		c.i, c.off = c.i+1, 0
	}
	return c.i == len(c.bufs)
}

func (c *cursor) byte() (byte, bool) {
	if c.end() {
		return 0, false
	}
	b := c.bufs[c.i][c.off]
	c.off++
	return b, true
}

// varint reads a varint, appending its encoding to out.
func (c *cursor) varint(out *[]byte) (uint64, bool) {
	var v uint64
	for shift := 0; shift < 64; shift += 7 {
		b, ok := c.byte()
		if !ok {
			return 0, false
		}
		*out = append(*out, b)
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return v, true
		}
	}
	return 0, false
}

func (c *cursor) skipVarint(out *[]byte) bool {
	_, ok := c.varint(out)
	return ok
}

// copyN appends the next n bytes to out.
func (c *cursor) copyN(out *[]byte, n uint64) bool {
	parts, ok := c.take(n)
	for _, p := range parts {
		*out = append(*out, p...)
	}
	return ok
}

// take returns the next n bytes as slices of the buffers.
func (c *cursor) take(n uint64) ([][]byte, bool) {
	var parts [][]byte
	for n > 0 {
		if c.end() {
			return nil, false
		}
		b := c.bufs[c.i][c.off:]
		if uint64(len(b)) > n {
			b = b[:n]
		}
		parts = append(parts, b)
		c.off += len(b)
		n -= uint64(len(b))
	}
	return parts, true
}
