package crilog

import (
	"bytes"
	"fmt"
	"time"

	"github.com/containerd/errdefs"
)

// Entry is one line of the file.
type Entry struct {
	Time    time.Time
	Stream  string // stdout or stderr
	Partial bool
	Msg     []byte
}

// ParseLine parses one line without its newline.
func ParseLine(line []byte) (Entry, error) {
	var e Entry
	fields := bytes.SplitN(line, []byte{' '}, 4)
	if len(fields) < 3 {
		return e, fmt.Errorf("crilog line %q: want TIME STREAM TAG MESSAGE: %w", line, errdefs.ErrInvalidArgument)
	}
	t, err := time.Parse(time.RFC3339Nano, string(fields[0]))
	if err != nil {
		return e, fmt.Errorf("crilog line %q: time: %v: %w", line, err, errdefs.ErrInvalidArgument)
	}
	e.Time = t
	e.Stream = string(fields[1])
	if e.Stream != "stdout" && e.Stream != "stderr" {
		return e, fmt.Errorf("crilog line %q: stream %q: %w", line, e.Stream, errdefs.ErrInvalidArgument)
	}
	switch tag := string(fields[2]); {
	case tag == "P":
		e.Partial = true
	case tag == "F" || len(tag) > 0 && tag[0] == 'F':
	default:
		return e, fmt.Errorf("crilog line %q: tag %q: %w", line, tag, errdefs.ErrInvalidArgument)
	}
	if len(fields) == 4 {
		e.Msg = fields[3]
	}
	return e, nil
}

// Line is a whole line of a container's output, partial entries joined.
type Line struct {
	Time   time.Time // of its first part
	Stream string
	Msg    []byte // without the newline
}

// assembler joins partial entries per stream.
type assembler struct {
	pending map[string]*Line
}

// add takes one entry and returns the line it completes, if any.
func (a *assembler) add(e Entry) (Line, bool) {
	if a.pending == nil {
		a.pending = map[string]*Line{}
	}
	p := a.pending[e.Stream]
	if p == nil {
		p = &Line{Time: e.Time, Stream: e.Stream}
	}
	p.Msg = append(p.Msg, e.Msg...)
	if e.Partial {
		a.pending[e.Stream] = p
		return Line{}, false
	}
	delete(a.pending, e.Stream)
	return *p, true
}
