package pull

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/errdefs"
)

// DefaultProgressTimeout is how long a registry may send nothing while a
// pull waits on it, as containerd's image_pull_progress_timeout.
const DefaultProgressTimeout = 5 * time.Minute

// stallTransport ends a request to a registry that stops sending: while
// Berth waits for the response or for more of its body and nothing comes
// for timeout, the request is cancelled and fails with errdefs.ErrUnavailable
// naming the registry and the blob. Time Berth itself spends elsewhere
// (writing to disk, an apply that lags behind) does not count: the clock
// only runs inside a read.
type stallTransport struct {
	next    http.RoundTripper
	timeout time.Duration
}

// withProgressDeadline wraps rt; a timeout of zero or less disables it.
func withProgressDeadline(rt http.RoundTripper, timeout time.Duration) http.RoundTripper {
	if timeout <= 0 {
		return rt
	}
	return &stallTransport{next: rt, timeout: timeout}
}

func (t *stallTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	w := &watch{timeout: t.timeout, cancel: cancel, stalled: &stallError{
		host: req.URL.Host, what: whatOf(req.URL.Path), after: t.timeout}}
	w.waiting.Store(time.Now().UnixNano())
	w.timer = time.AfterFunc(t.timeout, w.check)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		w.stop()
		if w.fired.Load() {
			return nil, w.stalled
		}
		return nil, err
	}
	w.waiting.Store(0)
	resp.Body = &watchedBody{rc: resp.Body, w: w}
	return resp, nil
}

// watch cancels a request once a read has waited for timeout.
type watch struct {
	timeout time.Duration
	cancel  context.CancelCauseFunc
	stalled *stallError
	timer   *time.Timer
	// waiting is when the pending read began (Unix nanoseconds), zero
	// while none is.
	waiting atomic.Int64
	fired   atomic.Bool
	once    sync.Once
	stopped atomic.Bool
}

func (w *watch) check() {
	if w.stopped.Load() {
		return
	}
	next := w.timeout
	if since := w.waiting.Load(); since != 0 {
		idle := time.Since(time.Unix(0, since))
		if idle >= w.timeout {
			w.fired.Store(true)
			w.cancel(w.stalled)
			return
		}
		next = w.timeout - idle
	}
	w.timer.Reset(next)
}

func (w *watch) stop() {
	w.once.Do(func() {
		w.stopped.Store(true)
		w.timer.Stop()
		w.cancel(nil)
	})
}

type watchedBody struct {
	rc io.ReadCloser
	w  *watch
}

func (b *watchedBody) Read(p []byte) (int, error) {
	if b.w.waiting.Load() == 0 {
		b.w.waiting.Store(time.Now().UnixNano())
	}
	n, err := b.rc.Read(p)
	if n > 0 || err != nil {
		b.w.waiting.Store(0)
	}
	if err != nil {
		if err != io.EOF && b.w.fired.Load() {
			err = b.w.stalled
		}
		b.w.stop()
	}
	return n, err
}

func (b *watchedBody) Close() error {
	b.w.stop()
	return b.rc.Close()
}

// stallError is a registry that sent nothing for too long.
type stallError struct {
	host, what string
	after      time.Duration
}

func (e *stallError) Error() string {
	return fmt.Sprintf("registry %s sent nothing for %s while sending %s (progress timeout, BERTH_IMAGED_PULL_PROGRESS_TIMEOUT)", e.host, e.after, e.what)
}

func (e *stallError) Unwrap() error { return errdefs.ErrUnavailable }

// whatOf names what a registry path fetches: blob sha256:…, manifest …
func whatOf(path string) string {
	for _, kind := range []string{"blobs", "manifests"} {
		if i := strings.LastIndex(path, "/"+kind+"/"); i >= 0 {
			return strings.TrimSuffix(kind, "s") + " " + path[i+len(kind)+2:]
		}
	}
	return path
}
