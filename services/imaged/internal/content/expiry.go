package content

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/containerd/errdefs"
)

// DefaultIngestTimeout is how long an ingest lives with nothing written to
// it: long enough for a client to resume a download after a pause, short
// enough that writes a client opened and walked away from do not hold
// their refs, the namespace's open-write quota and their partial data for
// good.
const DefaultIngestTimeout = 30 * time.Minute

func (s *Store) ingestTimeout() time.Duration {
	if s.IngestTimeout <= 0 {
		return DefaultIngestTimeout
	}
	return s.IngestTimeout
}

// touch refreshes a writer's activity, unless it has expired.
func (w *Writer) touch() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.expired != nil {
		return w.expired
	}
	w.updated = time.Now()
	return nil
}

// Expired is closed when the ingest expires; Err then says so.
func (w *Writer) Expired() <-chan struct{} { return w.done }

// Err is why the writer can no longer write (nil while it can).
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.expired
}

// ExpireIngests ends every ingest nothing was written to for the ingest
// timeout as of now: a writer still holding one loses it (its next call
// fails with errdefs.ErrAborted and its ref is free again), and the
// ingest's partial data is removed. An ingest written to or reopened
// within the timeout is untouched, so a resumed write continues. It
// returns how many ingests ended.
func (s *Store) ExpireIngests(now time.Time) int {
	timeout := s.ingestTimeout()
	dirs, _ := filepath.Glob(filepath.Join(s.root, "ingest", "*"))
	// s.mu keeps a writer from taking an ingest while it is judged.
	s.mu.Lock()
	defer s.mu.Unlock()
	ended := 0
	for _, dir := range dirs {
		if h, taken := s.locks[dir]; taken {
			if h.w != nil && h.w.expire(now, timeout) {
				delete(s.locks, dir)
				os.RemoveAll(dir)
				ended++
			}
			continue
		}
		if now.Sub(lastWrite(dir)) >= timeout {
			os.RemoveAll(dir)
			ended++
		}
	}
	return ended
}

// expire ends the writer if it has been idle for timeout.
func (w *Writer) expire(now time.Time, timeout time.Duration) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.expired != nil || now.Sub(w.updated) < timeout {
		return false
	}
	w.expired = fmt.Errorf("ingest %s expired: nothing was written to it for %s: %w", w.meta.Ref, timeout, errdefs.ErrAborted)
	close(w.done)
	if !w.reading {
		w.release()
	}
	return true
}

// release drops what the expired writer held with the ingest; its
// goroutine ends.
func (w *Writer) release() {
	w.out.Abort()
	w.f.Close()
}

// lastWrite is when an ingest not held by a writer was last opened or
// written to.
func lastWrite(dir string) time.Time {
	var last time.Time
	for _, name := range []string{"meta.json", "data", ""} {
		if st, err := os.Stat(filepath.Join(dir, name)); err == nil && st.ModTime().After(last) {
			last = st.ModTime()
		}
	}
	return last
}

// RunExpiry expires idle ingests until ctx ends.
func (s *Store) RunExpiry(ctx context.Context) error {
	every := s.ingestTimeout() / 4
	every = min(max(every, 100*time.Millisecond), time.Minute)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			s.ExpireIngests(now)
		}
	}
}
