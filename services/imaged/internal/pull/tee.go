package pull

import (
	"context"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// pipeSize is the kernel buffer between a download and its apply: large
// enough that neither side wakes the other for every chunk.
const pipeSize = 1 << 20

// tee reads a download and copies what it reads into a pipe, whose other
// end (pr) goes to snapshotd. A pipe nobody reads any more (the apply
// failed or was not needed) is dropped; the download goes on.
type tee struct {
	r      io.Reader
	rc     io.Closer
	pr, pw *os.File
	broken bool
	once   sync.Once
	stop   func() bool
}

// newTee tees r; when ctx ends, a write blocked on a pipe nobody drains
// any more (its apply gave up) is released.
func newTee(ctx context.Context, r io.Reader, rc io.Closer) (*tee, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	// Best effort: a smaller pipe only costs wake-ups. Through the raw
	// conn, not Fd(), which would make the pipe blocking: a write blocked
	// on a pipe nobody drains could then not be released by closing it.
	if rc, err := pw.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { unix.FcntlInt(fd, unix.F_SETPIPE_SZ, pipeSize) })
	}
	t := &tee{r: r, rc: rc, pr: pr, pw: pw}
	t.stop = context.AfterFunc(ctx, t.closePipe)
	return t, nil
}

func (t *tee) closePipe() { t.once.Do(func() { t.pw.Close() }) }

func (t *tee) Read(b []byte) (int, error) {
	n, err := t.r.Read(b)
	if n > 0 && !t.broken {
		if _, werr := t.pw.Write(b[:n]); werr != nil {
			t.broken = true
			t.closePipe()
		}
	}
	return n, err
}

// Close ends the stream: the apply reads to its end (a short stream fails
// it, and a download that failed is never committed, so neither is the
// apply).
func (t *tee) Close() error {
	t.stop()
	t.closePipe()
	return t.rc.Close()
}

// fillMin is the least a download read gathers before it goes on: the
// network hands over what arrived since the last read (often far less),
// and every piece would otherwise cost a write into the pipe and a
// wake-up of snapshotd reading it, a write into the ingest and a hash
// call.
const fillMin = 512 << 10

// filler reads until it has fillMin bytes (or p is full, or r ends).
type filler struct{ r io.Reader }

func (f filler) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && n < fillMin {
		m, err := f.r.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
