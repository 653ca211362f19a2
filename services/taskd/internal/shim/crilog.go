package shim

import (
	"bytes"
	"io"
	"time"
)

// criMaxLine is the longest line written whole; longer lines are split into
// partial entries, as the kubelet's log reader expects.
const criMaxLine = 16 << 10

// criStream writes one stream of a process in the Kubernetes CRI log
// format: `<RFC3339Nano time> <stdout|stderr> <F|P> <content>\n`, F for a
// line that ended with a newline, P for a partial chunk (a line longer than
// criMaxLine, or what is left without newline when the stream ends).
type criStream struct {
	w       io.WriteCloser // one Write per entry
	name    string
	pending []byte
	now     func() time.Time
	closed  bool
}

func newCRIStream(w io.WriteCloser, name string) *criStream {
	return &criStream{w: w, name: name, now: time.Now}
}

func (c *criStream) Write(p []byte) (int, error) {
	c.pending = append(c.pending, p...)
	rest := c.pending
	var err error
	for len(rest) > 0 && err == nil {
		search := rest
		if len(search) > criMaxLine+1 {
			search = search[:criMaxLine+1]
		}
		if i := bytes.IndexByte(search, '\n'); i >= 0 {
			err = c.entry('F', rest[:i])
			rest = rest[i+1:]
			continue
		}
		if len(rest) < criMaxLine {
			break
		}
		err = c.entry('P', rest[:criMaxLine])
		rest = rest[criMaxLine:]
	}
	c.pending = append(c.pending[:0], rest...)
	return len(p), err
}

func (c *criStream) entry(tag byte, content []byte) error {
	line := make([]byte, 0, len(content)+64)
	line = c.now().AppendFormat(line, time.RFC3339Nano)
	line = append(line, ' ')
	line = append(line, c.name...)
	line = append(line, ' ', tag, ' ')
	line = append(line, content...)
	line = append(line, '\n')
	_, err := c.w.Write(line)
	return err
}

// Close writes what is left as a partial entry and releases the file.
func (c *criStream) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	if len(c.pending) > 0 {
		c.entry('P', c.pending)
		c.pending = nil
	}
	return c.w.Close()
}
