package directio

import (
	"errors"
	"io"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Align is the alignment of direct writes: their buffer, offset and length
// (the physical block size of most disks; a multiple of every logical one).
const Align = 4096

// ChunkSize is how much a Writer gathers before one direct write.
const ChunkSize = 1 << 20

// pool recycles chunk buffers: a fresh one costs page faults per use.
var pool = sync.Pool{New: func() any {
	b := make([]byte, ChunkSize+Align)
	off := int(uintptr(unsafe.Pointer(&b[0])) & (Align - 1))
	if off != 0 {
		off = Align - off
	}
	return b[off : off+ChunkSize : off+ChunkSize]
}}

// Writer writes a file sequentially from an offset. Whole chunks go to
// the disk directly where the file system allows, written by a goroutine
// of the writer's own while the next chunk fills (a direct write waits
// for the disk); the rest goes through the page cache. Bytes a Write
// accepted may still be held in the Writer: Flush (or Close) writes them
// out, and a write error may surface only at a later Write or there.
// Close, Discard or Abort ends the goroutine. A Writer is not safe for
// concurrent use.
type Writer struct {
	f      *os.File
	off    int64  // file offset of buf[0]
	buf    []byte // held bytes, a pooled aligned chunk while direct
	direct bool
	// started is set by the first write, which turns f direct: until
	// then f (and every descriptor sharing its open file) stays as it was.
	started bool
	err     error
	// While direct: full chunks go to the goroutine on queue and come
	// back on free; its first error on errc; exited once it returned.
	queue  chan chunk
	free   chan []byte
	errc   chan error
	exited chan struct{}
}

type chunk struct {
	b   []byte
	off int64
}

// NewWriter writes f from off on. Direct writes need an aligned offset and
// a file system that takes them; otherwise every write goes through the
// page cache.
func NewWriter(f *os.File, off int64) *Writer { return &Writer{f: f, off: off} }

func (w *Writer) start() {
	w.started = true
	if w.off%Align != 0 || setDirect(w.f, true) != nil {
		return
	}
	w.direct = true
	w.buf = pool.Get().([]byte)[:0]
	w.queue, w.free = make(chan chunk), make(chan []byte, 1)
	w.errc, w.exited = make(chan error, 1), make(chan struct{})
	w.free <- pool.Get().([]byte)[:0]
	go writeChunks(w.f, w.queue, w.free, w.errc, w.exited)
}

// writeChunks writes the chunks it is given, in order, until queue is
// closed. A file system refusing a direct write gets it, and every later
// one, through the page cache; after an error nothing more is written.
func writeChunks(f *os.File, queue <-chan chunk, free chan<- []byte, errc chan<- error, exited chan<- struct{}) {
	defer close(exited)
	failed := false
	for c := range queue {
		if !failed {
			_, err := f.WriteAt(c.b, c.off)
			if errors.Is(err, unix.EINVAL) {
				if err = setDirect(f, false); err == nil {
					_, err = f.WriteAt(c.b, c.off)
				}
			}
			if err != nil {
				failed = true
				errc <- err
			}
		}
		free <- c.b[:0]
	}
}

// Direct reports whether the writer writes around the page cache.
func (w *Writer) Direct() bool { return w.direct }

// Offset is where the next byte written lands in the file.
func (w *Writer) Offset() int64 { return w.off + int64(len(w.buf)) }

func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if !w.started {
		w.start()
	}
	if !w.direct {
		n, err := w.f.WriteAt(p, w.off)
		w.off += int64(n)
		w.err = err
		return n, err
	}
	written := 0
	for len(p) > 0 {
		n := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf = w.buf[:len(w.buf)+n]
		p = p[n:]
		written += n
		if len(w.buf) == cap(w.buf) {
			if err := w.handOff(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

// ReadFrom writes what r reads until its end, read straight into the
// chunk buffer while direct (no copy on the way).
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	if !w.started {
		w.start()
	}
	var total int64
	for {
		if w.err != nil {
			return total, w.err
		}
		if !w.direct {
			n, err := io.Copy(writerOnly{w}, r)
			return total + n, err
		}
		n, err := r.Read(w.buf[len(w.buf):cap(w.buf)])
		w.buf = w.buf[:len(w.buf)+n]
		total += int64(n)
		if len(w.buf) == cap(w.buf) {
			if werr := w.handOff(); werr != nil {
				return total, werr
			}
		}
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// writerOnly hides ReadFrom from io.Copy.
type writerOnly struct{ w *Writer }

func (o writerOnly) Write(p []byte) (int, error) { return o.w.Write(p) }

// handOff gives the full chunk to the goroutine and takes the other one
// back once the goroutine wrote it.
func (w *Writer) handOff() error {
	w.queue <- chunk{b: w.buf, off: w.off}
	w.off += int64(len(w.buf))
	w.buf = <-w.free
	select {
	case err := <-w.errc:
		w.err = err
	default:
	}
	return w.err
}

// stop waits for the goroutine to write what it was given, and ends it.
func (w *Writer) stop() {
	if w.queue == nil {
		return
	}
	close(w.queue)
	<-w.exited
	select {
	case err := <-w.errc:
		if w.err == nil {
			w.err = err
		}
	default:
	}
	spare := <-w.free
	pool.Put(spare[:cap(spare)])
	w.queue = nil
}

// Flush writes out everything held: its aligned part directly, the tail
// through the page cache, as every later write.
func (w *Writer) Flush() error {
	if !w.direct {
		return w.err
	}
	w.stop()
	if w.err != nil {
		return w.err
	}
	if n := len(w.buf) &^ (Align - 1); n > 0 {
		m, err := w.f.WriteAt(w.buf[:n], w.off)
		if err != nil && !(errors.Is(err, unix.EINVAL) && m == 0) {
			w.err = err
			return err
		}
		w.off += int64(m)
		w.buf = w.buf[:copy(w.buf, w.buf[m:])]
	}
	return w.buffered()
}

// buffered turns the writer to the page cache, writing what it holds.
func (w *Writer) buffered() error {
	w.direct = false
	held := w.buf
	w.buf = nil
	defer pool.Put(held[:cap(held)])
	if err := setDirect(w.f, false); err != nil {
		w.err = err
		return err
	}
	if len(held) == 0 {
		return nil
	}
	n, err := w.f.WriteAt(held, w.off)
	w.off += int64(n)
	w.err = err
	return err
}

// Discard drops what is held and restarts the writer at off (before the
// caller truncates the file, say: no write of the writer's lands later).
func (w *Writer) Discard(off int64) {
	w.Abort()
	*w = Writer{f: w.f, off: off}
}

// Abort drops what is held, once what the goroutine was given is written
// (so no write lands after it), and ends the writer.
func (w *Writer) Abort() {
	w.stop()
	if w.direct {
		// Later reads and writes through f need no alignment.
		setDirect(w.f, false)
		pool.Put(w.buf[:cap(w.buf)])
	}
	w.buf, w.direct = nil, false
	if w.err == nil {
		w.err = errAborted
	}
}

var errAborted = errors.New("direct writer aborted")

// Close flushes and gives the buffers back; the file stays open, out of
// direct mode.
func (w *Writer) Close() error {
	err := w.Flush()
	w.Abort()
	return err
}

// setDirect sets or clears O_DIRECT on f's open file description.
func setDirect(f *os.File, on bool) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		flags, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
		if err != nil {
			serr = err
			return
		}
		if on {
			flags |= unix.O_DIRECT
		} else {
			flags &^= unix.O_DIRECT
		}
		_, serr = unix.FcntlInt(fd, unix.F_SETFL, flags)
	}); err != nil {
		return err
	}
	return serr
}
