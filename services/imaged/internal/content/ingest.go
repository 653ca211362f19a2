package content

import (
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	api "github.com/containerd/containerd/api/services/content/v1"
	"github.com/containerd/errdefs"
	"github.com/dgraph-io/badger/v4"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/types/known/timestamppb"

	"berth.dev/pkg/directio"
	"berth.dev/pkg/events"
	"berth.dev/pkg/labels"
	"berth.dev/pkg/lease"
	"berth.dev/pkg/namespace"
	"berth.dev/pkg/store"
)

// ingestMeta is what an ingest remembers besides its data.
type ingestMeta struct {
	Namespace string        `json:"namespace"`
	Ref       string        `json:"ref"`
	Total     int64         `json:"total,omitempty"`
	Expected  digest.Digest `json:"expected,omitempty"`
	StartedAt time.Time     `json:"startedAt"`
	// Lease is the lease its latest writer opened it under: the ingest
	// goes when that lease has ended (RemoveIngestsOfEndedLeases), as
	// containerd's collector removes a lease's ingests.
	Lease string `json:"lease,omitempty"`
}

// readIngestMeta reads an ingest's meta.json; false if it is missing or
// unreadable.
func readIngestMeta(dir string) (ingestMeta, bool) {
	var m ingestMeta
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil || json.Unmarshal(b, &m) != nil {
		return m, false
	}
	return m, true
}

// Writer is an open ingest, held by one writer until Close, or until it
// expires (see ExpireIngests).
type Writer struct {
	s    *Store
	dir  string
	lock *held
	meta ingestMeta
	f    *os.File
	// out writes f, around the page cache where it can (see Write).
	out    *directio.Writer
	h      hash.Hash
	offset int64
	// flushed is where the last write-out started (see Write).
	flushed int64
	closed  bool

	mu      sync.Mutex // guards what ExpireIngests reads and sets
	updated time.Time
	expired error
	done    chan struct{} // closed when the ingest expires
	// reading is set while ReadFrom runs: out and f are then its own, and
	// an expiry leaves their ending to it (its read goes into out's chunk
	// with no lock held).
	reading bool
}

// Ingests are per namespace and ref, as in containerd.
func (s *Store) ingestDir(ns, ref string) string {
	sum := sha256.Sum256([]byte(ns + "\x00" + ref))
	return filepath.Join(s.root, "ingest", hex.EncodeToString(sum[:]))
}

// Writer opens (or resumes) the ingest ref in the caller's namespace. A ref
// held by another writer is errdefs.ErrUnavailable, which clients retry.
func (s *Store) Writer(ctx context.Context, ref string, total int64, expected string) (*Writer, error) {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return nil, err
	}
	if ref == "" {
		return nil, fmt.Errorf("a write needs a ref: %w", errdefs.ErrInvalidArgument)
	}
	var exp digest.Digest
	if expected != "" {
		if exp, err = parseDigest(expected); err != nil {
			return nil, err
		}
	}
	dir := s.ingestDir(ns, ref)
	s.mu.Lock()
	if _, held := s.locks[dir]; held {
		s.mu.Unlock()
		return nil, fmt.Errorf("ref %s locked by another writer: %w", ref, errdefs.ErrUnavailable)
	}
	if n := s.openIn(ns); n >= MaxOpenIngests {
		s.mu.Unlock()
		return nil, fmt.Errorf("%d writes open in namespace %s: %w", n, ns, errdefs.ErrResourceExhausted)
	}
	h := &held{ns: ns}
	s.locks[dir] = h
	s.mu.Unlock()
	var l string
	if ctx.Value(clientWriteKey{}) != nil {
		l, _ = lease.FromContext(ctx)
	}
	w, err := s.openIngest(dir, ingestMeta{Namespace: ns, Ref: ref, Total: total, Expected: exp, StartedAt: time.Now(), Lease: l})
	if err != nil {
		s.unlock(dir, h)
		return nil, err
	}
	s.mu.Lock()
	w.lock, h.w = h, w
	s.mu.Unlock()
	return w, nil
}

// unlock releases dir if h still holds it (an expired writer's lock may
// have gone to another since).
func (s *Store) unlock(dir string, h *held) {
	s.mu.Lock()
	if s.locks[dir] == h {
		delete(s.locks, dir)
	}
	s.mu.Unlock()
}

// openIngest opens the ingest in dir, creating it or resuming it. An
// ingest it created and could not open is removed again: with no meta.json
// nothing lists it, and it would stay until the ingest timeout.
func (s *Store) openIngest(dir string, meta ingestMeta) (_ *Writer, err error) {
	switch merr := os.Mkdir(dir, 0o700); {
	case merr == nil:
		defer func() {
			if err != nil {
				os.RemoveAll(dir)
			}
		}()
	case !os.IsExist(merr):
		return nil, full("ingest "+meta.Ref, merr)
	}
	if old, ok := readIngestMeta(dir); ok {
		meta.StartedAt = old.StartedAt
		if meta.Total == 0 {
			meta.Total = old.Total
		}
		if meta.Expected == "" {
			meta.Expected = old.Expected
		}
	}
	b, _ := json.Marshal(meta)
	if err := os.WriteFile(filepath.Join(dir, "meta.json"), b, 0o600); err != nil {
		return nil, full("ingest "+meta.Ref, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "data"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, full("ingest "+meta.Ref, err)
	}
	// Resuming: rehash what is already there so the digest covers it.
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Writer{s: s, dir: dir, meta: meta, f: f, out: directio.NewWriter(f, n), h: h, offset: n, flushed: n, updated: time.Now(), done: make(chan struct{})}, nil
}

// Status describes the ingest.
func (w *Writer) Status() *api.Status {
	return &api.Status{
		Ref: w.meta.Ref, Offset: w.offset, Total: w.meta.Total, Expected: w.meta.Expected.String(),
		StartedAt: timestamppb.New(w.meta.StartedAt), UpdatedAt: timestamppb.New(w.updated),
	}
}

// Digest is the digest of what was written so far.
func (w *Writer) Digest() digest.Digest { return digest.NewDigest(digest.SHA256, w.h) }

// writeBackChunk is how much of an ingest is written before its write-out
// to disk is started.
const writeBackChunk = 8 << 20

// Write appends p. The data goes to the disk directly (O_DIRECT) in
// chunks where the file system allows: the commit syncs it anyway, and
// copying it through the page cache first cost a pull more CPU than
// hashing it. Through the page cache instead, every writeBackChunk the
// write-out of what came since is started without waiting
// (sync_file_range), so the fsync of the commit finds the blob mostly on
// disk instead of writing all of it then. Bytes held for the next direct
// write reach the file at the latest when the writer commits or closes.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.expired != nil {
		return 0, w.expired
	}
	n, err := w.out.Write(p)
	w.wrote(p[:n])
	w.startWriteBack(w.offset)
	return n, full("ingest "+w.meta.Ref, err)
}

// wrote counts p, appended to the ingest: hashed, added to the offset,
// the ingest touched. w.mu is held.
func (w *Writer) wrote(p []byte) {
	w.h.Write(p)
	w.offset += int64(len(p))
	w.updated = time.Now()
}

// startWriteBack starts the write-out of what went into the file through
// the page cache since the last one, once that is writeBackChunk; upto is
// how much the file holds. Best effort: the commit's fsync is what makes
// it durable. w.mu is held.
func (w *Writer) startWriteBack(upto int64) {
	if !w.out.Direct() && upto-w.flushed >= writeBackChunk {
		unix.SyncFileRange(int(w.f.Fd()), w.flushed, upto-w.flushed, unix.SYNC_FILE_RANGE_WRITE)
		w.flushed = upto
	}
}

// ReadFrom appends what r reads until its end, as Write would, but read
// straight into the buffer the direct write goes out from: a download
// written with Write was copied from its read buffer into that buffer.
// What was read is hashed there.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	w.mu.Lock()
	if w.expired != nil {
		w.mu.Unlock()
		return 0, w.expired
	}
	w.reading = true
	w.mu.Unlock()
	n, err := w.out.ReadFrom(&hashingReader{w: w, r: r})
	w.mu.Lock()
	defer w.mu.Unlock()
	w.reading = false
	if w.expired != nil {
		// Expired during the read: what expire left to it.
		w.release()
		return n, w.expired
	}
	return n, full("ingest "+w.meta.Ref, err)
}

// hashingReader hashes and counts what the writer's ReadFrom reads.
type hashingReader struct {
	w *Writer
	r io.Reader
}

func (h *hashingReader) Read(p []byte) (int, error) {
	w := h.w
	w.mu.Lock()
	if err := w.expired; err != nil {
		w.mu.Unlock()
		return 0, err
	}
	// Through the page cache every read is written before the next one:
	// start the write-out of what came since the last one.
	w.startWriteBack(w.out.Offset())
	w.mu.Unlock()
	// Unlocked: a download may wait long, and the ingest may expire
	// meanwhile.
	n, err := h.r.Read(p)
	w.mu.Lock()
	if w.expired != nil {
		// What came after the expiry is no part of the ingest.
		w.mu.Unlock()
		return 0, w.expired
	}
	w.wrote(p[:n])
	w.mu.Unlock()
	return n, err
}

// DataFile opens the ingest's data for another writer (the gateway writing
// a client's content Write), who reports what it wrote with Appended. The
// file is a descriptor of its own, never switched to direct writes.
func (w *Writer) DataFile() (*os.File, error) {
	return os.OpenFile(filepath.Join(w.dir, "data"), os.O_WRONLY, 0)
}

// Appended takes n bytes another writer wrote at the ingest's offset
// through DataFile: they are read back (from the page cache) and hashed,
// so the digest the commit verifies is still imaged's own.
func (w *Writer) Appended(n int64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.expired != nil {
		return w.expired
	}
	buf := readBuffers.Get().(*[]byte)
	defer readBuffers.Put(buf)
	for n > 0 {
		m, err := w.f.ReadAt((*buf)[:min(n, int64(len(*buf)))], w.offset)
		w.h.Write((*buf)[:m])
		w.offset += int64(m)
		n -= int64(m)
		if err != nil && m == 0 {
			return fmt.Errorf("ingest %s: %d bytes reported written are not there: %v: %w", w.meta.Ref, n, err, errdefs.ErrFailedPrecondition)
		}
	}
	w.updated = time.Now()
	return nil
}

// Hashed takes n bytes another writer wrote at the ingest's offset
// through DataFile with its sha256 of the data up to them (state, in
// encoding.BinaryMarshaler's form): the writer hashed the bytes it
// received as it wrote them, as containerd's writer does, so they are not
// read back. A state that does not cover exactly the data up to the new
// offset is refused.
func (w *Writer) Hashed(n int64, state []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.expired != nil {
		return w.expired
	}
	h := sha256.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		return fmt.Errorf("ingest %s: hash state: %v: %w", w.meta.Ref, err, errdefs.ErrInvalidArgument)
	}
	// The state ends with the length it hashed.
	if hashed := int64(binary.BigEndian.Uint64(state[len(state)-8:])); n < 0 || hashed != w.offset+n {
		return fmt.Errorf("ingest %s: hash state covers %d bytes, the data %d: %w", w.meta.Ref, hashed, w.offset+n, errdefs.ErrFailedPrecondition)
	}
	w.h = h
	w.offset += n
	w.updated = time.Now()
	return nil
}

// HashState is the sha256 of what was written so far, in
// encoding.BinaryMarshaler's form, for a writer that goes on from it (see
// Hashed).
func (w *Writer) HashState() ([]byte, error) {
	return w.h.(encoding.BinaryMarshaler).MarshalBinary()
}

var readBuffers = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// Truncate restarts the ingest at offset 0 (the only offset containerd's
// protocol truncates to).
func (w *Writer) Truncate(size int64) error {
	if size != 0 {
		return fmt.Errorf("truncate to %d: only 0 is supported: %w", size, errdefs.ErrInvalidArgument)
	}
	if err := w.touch(); err != nil {
		return err
	}
	// Before the truncation: none of the writer's writes lands after it.
	w.out.Discard(0)
	if err := w.f.Truncate(0); err != nil {
		return err
	}
	w.h.Reset()
	w.offset, w.flushed = 0, 0
	return nil
}

// Commit verifies the ingest against size and expected (when given), moves
// it into the blob store and records it in the namespace. Committing a blob
// the namespace already has is errdefs.ErrAlreadyExists.
func (w *Writer) Commit(ctx context.Context, size int64, expected string, lbls map[string]string) (err error) {
	if err := w.touch(); err != nil {
		return err
	}
	if size == 0 {
		size = w.meta.Total
	}
	exp := w.meta.Expected
	if expected != "" {
		if exp, err = parseDigest(expected); err != nil {
			return err
		}
	}
	if size > 0 && size != w.offset {
		return fmt.Errorf("commit of %s: %d bytes written, %d expected: %w", w.meta.Ref, w.offset, size, errdefs.ErrFailedPrecondition)
	}
	if err := w.out.Flush(); err != nil {
		return full("commit of "+w.meta.Ref, err)
	}
	// Only what was hashed may become the blob: bytes another writer put
	// in the file without reporting them (see Appended) must not.
	if st, err := w.f.Stat(); err != nil {
		return err
	} else if st.Size() != w.offset {
		return fmt.Errorf("commit of %s: the data holds %d bytes, %d were hashed: %w", w.meta.Ref, st.Size(), w.offset, errdefs.ErrFailedPrecondition)
	}
	dgst := w.Digest()
	if exp != "" && exp != dgst {
		return fmt.Errorf("commit of %s: unexpected digest %s, want %s: %w", w.meta.Ref, dgst, exp, errdefs.ErrFailedPrecondition)
	}
	if err := labels.Validate(lbls); err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		return full("commit of "+w.meta.Ref, err)
	}
	blob := w.s.blobPath(dgst)
	if _, err := os.Stat(blob); errors.Is(err, os.ErrNotExist) {
		if err := os.Rename(filepath.Join(w.dir, "data"), blob); err != nil {
			return fmt.Errorf("commit %s: %w", dgst, full("rename", err))
		}
		syncDir(filepath.Dir(blob))
	}
	err = w.s.record(ctx, w.meta.Namespace, dgst, w.offset, lbls)
	w.Close()
	os.RemoveAll(w.dir)
	return err
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

func (s *Store) record(ctx context.Context, ns string, dgst digest.Digest, size int64, lbls map[string]string) error {
	return s.outbox.Update(ctx, func(txn *badger.Txn, rec *events.Recorder) error {
		if s.OnCommit != nil {
			if err := s.OnCommit(ctx, txn, ns, dgst); err != nil {
				return err
			}
		}
		if ok, err := store.Exists(txn, Key(ns, dgst)); err != nil {
			return err
		} else if ok {
			return fmt.Errorf("content %s: %w", dgst, errdefs.ErrAlreadyExists)
		}
		now := timestamppb.Now()
		info := &api.Info{Digest: dgst.String(), Size: size, CreatedAt: now, UpdatedAt: now, Labels: lbls}
		if err := store.Put(txn, Key(ns, dgst), info); err != nil {
			return err
		}
		return rec.Add(ns, events.TopicContentCreate, &apievents.ContentCreate{Digest: dgst.String(), Size: size})
	})
}

// Close releases the ingest for another writer; what was written stays
// for a later resume.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	w.mu.Lock()
	expired := w.expired != nil
	w.mu.Unlock()
	if expired {
		return nil // ExpireIngests released it
	}
	// What the writer holds goes to the file, for a later resume.
	err := full("ingest "+w.meta.Ref, w.out.Close())
	w.s.unlock(w.dir, w.lock)
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Status returns the state of an ingest without taking it.
func (s *Store) Status(ctx context.Context, ref string) (*api.Status, error) {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return nil, err
	}
	return s.status(s.ingestDir(ns, ref))
}

func (s *Store) status(dir string) (*api.Status, error) {
	var meta ingestMeta
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", errdefs.ErrNotFound)
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return nil, err
	}
	st, err := os.Stat(filepath.Join(dir, "data"))
	if err != nil {
		return nil, fmt.Errorf("ingest %s: %w", meta.Ref, errdefs.ErrNotFound)
	}
	return &api.Status{Ref: meta.Ref, Offset: st.Size(), Total: meta.Total, Expected: meta.Expected.String(),
		StartedAt: timestamppb.New(meta.StartedAt), UpdatedAt: timestamppb.New(st.ModTime())}, nil
}

// ListStatuses returns the ingests of the caller's namespace.
func (s *Store) ListStatuses(ctx context.Context) ([]*api.Status, error) {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return nil, err
	}
	dirs, _ := filepath.Glob(filepath.Join(s.root, "ingest", "*"))
	var out []*api.Status
	for _, d := range dirs {
		if meta, ok := readIngestMeta(d); !ok || meta.Namespace != ns {
			continue
		}
		if st, err := s.status(d); err == nil {
			out = append(out, st)
		}
	}
	return out, nil
}

// Abort removes an ingest.
func (s *Store) Abort(ctx context.Context, ref string) error {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return err
	}
	dir := s.ingestDir(ns, ref)
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("ingest %s: %w", ref, errdefs.ErrNotFound)
	}
	s.mu.Lock()
	_, taken := s.locks[dir]
	s.mu.Unlock()
	if taken {
		return fmt.Errorf("ingest %s is being written: %w", ref, errdefs.ErrUnavailable)
	}
	return os.RemoveAll(dir)
}
