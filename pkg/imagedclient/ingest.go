package imagedclient

import (
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/json"
	"fmt"
	"hash"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/containerd/errdefs"

	"berth.dev/pkg/fdsocket"
)

// IngestSocket is where imaged hands an open ingest's data file to the
// gateway, beside its gRPC socket: the gateway writes a client's content
// Write straight into it instead of forwarding every WRITE message as
// gRPC frames, while imaged hashes what lands there, verifies it and
// commits it.
func IngestSocket(grpcSocket string) string {
	return filepath.Join(filepath.Dir(grpcSocket), strings.TrimSuffix(filepath.Base(grpcSocket), ".sock")+"-ingest.sock")
}

// IngestOpen is the first message of an ingest session: the content
// Write's first request, and the metadata the call came with.
type IngestOpen struct {
	Namespace string `json:"namespace"`
	Lease     string `json:"lease,omitempty"`
	Client    string `json:"client,omitempty"`
	Ref       string `json:"ref"`
	Total     int64  `json:"total,omitempty"`
	Expected  string `json:"expected,omitempty"`
}

// Ingest session operations.
const (
	// IngestWrote says N more bytes were written at the ingest's offset;
	// imaged answers nothing, and hashes them in turn, or takes the
	// writer's hash of them (State).
	IngestWrote = "wrote"
	// IngestStat, IngestTruncate and IngestCommit are answered once
	// every earlier IngestWrote is hashed.
	IngestStat     = "stat"
	IngestTruncate = "truncate"
	IngestCommit   = "commit"
)

// IngestRequest is one operation on an open ingest.
type IngestRequest struct {
	Op       string            `json:"op"`
	N        int64             `json:"n,omitempty"`
	Size     int64             `json:"size,omitempty"`
	Expected string            `json:"expected,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	// State, with IngestWrote, is the writer's sha256 of the data up to
	// the new offset (in encoding.BinaryMarshaler's form): imaged takes it
	// instead of reading the N bytes back and hashing them. The digest
	// the commit verifies is then of the bytes the writer received, as
	// containerd's writer hashes what it writes; the writer is the
	// gateway, which holds the data file open for writing anyway.
	State []byte `json:"state,omitempty"`
}

// IngestReply is imaged's answer: the ingest's state, or why not.
type IngestReply struct {
	Offset    int64     `json:"offset"`
	Digest    string    `json:"digest,omitempty"`
	StartedAt time.Time `json:"started_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// State, in the answer to the open, is the sha256 of the data up to
	// Offset (encoding.BinaryMarshaler's form), for a writer that goes
	// on hashing what it writes (see IngestRequest.State).
	State []byte `json:"state,omitempty"`
	Error string `json:"error,omitempty"`
	// Kind is the errdefs class of Error.
	Kind string `json:"kind,omitempty"`
}

// ErrorReply encodes err for the ingest socket.
func ErrorReply(err error) *IngestReply {
	return &IngestReply{Error: err.Error(), Kind: fdsocket.ErrorKind(err)}
}

// Ingest is an open ingest whose data file the caller writes: at the
// offset it was opened at and on, reporting each write with Wrote.
type Ingest struct {
	// File is the ingest's data, open for writing only.
	File *os.File
	// Opened is the ingest's state when opened (Offset: where to go on).
	Opened *IngestReply
	conn   net.Conn
	enc    *json.Encoder
	// replies carries imaged's answers, and the error it sends unasked
	// before it ends the session (the ingest expired).
	replies chan *IngestReply
	done    chan struct{} // closed once imaged ended the session
	closed  chan struct{} // closed by Close
	stop    func() bool
}

// OpenIngest opens (or resumes) the ingest open.Ref at imaged's ingest
// socket. The session, and the ref's lock, last until Close or ctx ends.
func OpenIngest(ctx context.Context, socket string, open *IngestOpen) (*Ingest, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return nil, fmt.Errorf("imaged ingest socket: %v: %w", err, errdefs.ErrUnavailable)
	}
	uc := conn.(*net.UnixConn)
	in := &Ingest{conn: conn, enc: json.NewEncoder(conn), replies: make(chan *IngestReply, 1),
		done: make(chan struct{}), closed: make(chan struct{})}
	in.stop = context.AfterFunc(ctx, func() { conn.Close() })
	if err := fdsocket.Send(uc, open, nil); err != nil {
		in.Close()
		return nil, fmt.Errorf("open ingest %s: %v: %w", open.Ref, err, errdefs.ErrUnavailable)
	}
	var reply IngestReply
	f, err := fdsocket.Receive(uc, &reply)
	if err == nil && reply.Error != "" {
		err = fdsocket.KindError(reply.Error, reply.Kind)
	} else if err == nil && f == nil {
		err = fmt.Errorf("imaged sent no file for ingest %s: %w", open.Ref, errdefs.ErrUnavailable)
	} else if err != nil {
		err = fmt.Errorf("open ingest %s: %v: %w", open.Ref, err, errdefs.ErrUnavailable)
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		in.Close()
		return nil, err
	}
	in.File, in.Opened = f, &reply
	go in.read()
	return in, nil
}

func (in *Ingest) read() {
	defer close(in.done)
	dec := json.NewDecoder(in.conn)
	for {
		r := &IngestReply{}
		if err := dec.Decode(r); err != nil {
			return
		}
		select {
		case in.replies <- r:
		case <-in.closed:
			return
		}
	}
}

// Wrote reports n bytes written at the ingest's offset. It does not wait
// for imaged: a failure shows in the next answer.
func (in *Ingest) Wrote(n int64) error {
	if err := in.enc.Encode(&IngestRequest{Op: IngestWrote, N: n}); err != nil {
		return in.Err()
	}
	return nil
}

// Hash is the sha256 of the data the ingest was opened with, to go on
// hashing what the caller writes and report it with WroteHashed; nil when
// imaged sent no state (the caller then reports with Wrote).
func (in *Ingest) Hash() hash.Hash {
	if in.Opened == nil || in.Opened.State == nil {
		return nil
	}
	h := sha256.New()
	if h.(encoding.BinaryUnmarshaler).UnmarshalBinary(in.Opened.State) != nil {
		return nil
	}
	return h
}

// WroteHashed reports n bytes written at the ingest's offset with h, the
// hash of all the data up to them (from Hash, written on): imaged takes h
// instead of reading the bytes back. It does not wait for imaged either.
func (in *Ingest) WroteHashed(n int64, h hash.Hash) error {
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return err
	}
	if err := in.enc.Encode(&IngestRequest{Op: IngestWrote, N: n, State: state}); err != nil {
		return in.Err()
	}
	return nil
}

// Do sends an operation other than IngestWrote and returns imaged's answer.
func (in *Ingest) Do(req *IngestRequest) (*IngestReply, error) {
	if err := in.enc.Encode(req); err != nil {
		return nil, in.Err()
	}
	select {
	case r := <-in.replies:
		return r.result()
	case <-in.done:
		return nil, in.Err()
	}
}

// Done is closed once imaged ended the session; Err then says why.
func (in *Ingest) Done() <-chan struct{} { return in.done }

// Err is why imaged ended the session (or will: call it once Done is).
func (in *Ingest) Err() error {
	select {
	case <-in.done:
	case <-in.closed:
	}
	select {
	case r := <-in.replies:
		if _, err := r.result(); err != nil {
			return err
		}
	default:
	}
	return fmt.Errorf("imaged ended the ingest session: %w", errdefs.ErrAborted)
}

func (r *IngestReply) result() (*IngestReply, error) {
	if r.Error != "" {
		return nil, fdsocket.KindError(r.Error, r.Kind)
	}
	return r, nil
}

// Close ends the session: what was written and reported stays in the
// ingest for a later resume.
func (in *Ingest) Close() error {
	in.stop()
	select {
	case <-in.closed:
	default:
		close(in.closed)
	}
	if in.File != nil {
		in.File.Close()
	}
	return in.conn.Close()
}
