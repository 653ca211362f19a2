package crilog

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"syscall"
	"time"
)

// Options say what to print and where.
type Options struct {
	// Tail prints only the last Tail lines already in the file; <0 all.
	Tail       int
	Timestamps bool
	Stdout     io.Writer
	Stderr     io.Writer
	// Follow keeps printing what is appended until ctx ends or Done
	// reports true (the container stopped) and the file has no more.
	Follow bool
	Done   func() bool
	// Poll is how often a followed file is looked at; 100ms by default.
	Poll time.Duration
}

func (o *Options) write(l Line) error {
	w := o.Stdout
	if l.Stream == "stderr" {
		w = o.Stderr
	}
	buf := make([]byte, 0, len(l.Msg)+40)
	if o.Timestamps {
		buf = append(buf, l.Time.Format(time.RFC3339Nano)...)
		buf = append(buf, ' ')
	}
	buf = append(buf, l.Msg...)
	buf = append(buf, '\n')
	_, err := w.Write(buf)
	return err
}

// reader reads entries from one open file, keeping a partial last line
// until its newline arrives.
type reader struct {
	f    *os.File
	rest []byte
	asm  assembler
}

// next returns the complete lines now in the file.
func (r *reader) next() ([]Line, error) {
	var out []Line
	br := bufio.NewReaderSize(r.f, 64<<10)
	for {
		chunk, err := br.ReadBytes('\n')
		if len(chunk) > 0 {
			if chunk[len(chunk)-1] != '\n' {
				r.rest = append(r.rest, chunk...)
			} else {
				line := append(r.rest, chunk[:len(chunk)-1]...)
				r.rest = nil
				if e, perr := ParseLine(line); perr == nil {
					if l, ok := r.asm.add(e); ok {
						out = append(out, l)
					}
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// Copy prints the log at path as opts say.
func Copy(ctx context.Context, path string, opts Options) error {
	if opts.Poll == 0 {
		opts.Poll = 100 * time.Millisecond
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	r := &reader{f: f}
	defer func() { r.f.Close() }()
	lines, err := r.next()
	if err != nil {
		return err
	}
	if opts.Tail >= 0 && len(lines) > opts.Tail {
		lines = lines[len(lines)-opts.Tail:]
	}
	for _, l := range lines {
		if err := opts.write(l); err != nil {
			return err
		}
	}
	if !opts.Follow {
		return nil
	}
	return follow(ctx, path, r, opts)
}

func follow(ctx context.Context, path string, r *reader, opts Options) error {
	tick := time.NewTicker(opts.Poll)
	defer tick.Stop()
	for {
		// Done is asked before reading so that what the container wrote
		// before it stopped is still printed.
		stopped := opts.Done != nil && opts.Done()
		if err := r.drain(opts); err != nil {
			return err
		}
		if rotated(r.f, path) {
			if err := r.drain(opts); err != nil {
				return err
			}
			nf, err := os.Open(path)
			if err == nil {
				r.f.Close()
				r.f, r.rest = nf, nil
				continue
			}
		}
		if stopped {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func (r *reader) drain(opts Options) error {
	// A file truncated in place starts over.
	if st, err := r.f.Stat(); err == nil {
		if off, _ := r.f.Seek(0, io.SeekCurrent); st.Size() < off {
			r.f.Seek(0, io.SeekStart)
			r.rest = nil
		}
	}
	lines, err := r.next()
	for _, l := range lines {
		if werr := opts.write(l); werr != nil {
			return werr
		}
	}
	return err
}

// rotated tells whether path now names another file than f.
func rotated(f *os.File, path string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Stat(path)
	if err1 != nil || err2 != nil {
		return false
	}
	sa, ok1 := a.Sys().(*syscall.Stat_t)
	sb, ok2 := b.Sys().(*syscall.Stat_t)
	return ok1 && ok2 && (sa.Ino != sb.Ino || sa.Dev != sb.Dev)
}
