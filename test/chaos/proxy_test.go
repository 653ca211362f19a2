//go:build chaos

package chaos

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Registry faults the proxy plays on a blob's first download.
const (
	// faultReset sends part of the blob, then resets the connection.
	faultReset = "reset"
	// faultStall sends part of the blob, then sends nothing more until the
	// client gives up or the fault is released.
	faultStall = "stall"
)

// maxStall bounds a stall whatever the client does, so that the run ends.
const maxStall = 3 * time.Minute

// faultProxy stands on loopback in front of the registry and passes
// everything through, except that a blob marked with a fault misbehaves on
// its first download.
type faultProxy struct {
	addr   string
	target string
	mu     sync.Mutex
	faults map[string]string // digest -> fault
	hit    map[string]bool   // digests whose fault was played
	ranged map[string]bool   // digests asked for with a Range after their fault
	stop   chan struct{}     // closed to release stalls
}

func startProxy(t *testing.T, target string) *faultProxy {
	p := &faultProxy{target: target, faults: map[string]string{}, hit: map[string]bool{}, ranged: map[string]bool{}, stop: make(chan struct{})}
	srv := httptest.NewServer(p)
	t.Cleanup(func() {
		close(p.stop)
		srv.CloseClientConnections()
		srv.Close()
	})
	p.addr = strings.TrimPrefix(srv.URL, "http://")
	return p
}

// arm marks a blob with a fault for its next download.
func (p *faultProxy) arm(digest, fault string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults[digest] = fault
	delete(p.hit, digest)
	delete(p.ranged, digest)
}

// played reports whether the fault was played and whether a later request
// resumed with a Range.
func (p *faultProxy) played(digest string) (hit, resumed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hit[digest], p.ranged[digest]
}

func (p *faultProxy) take(r *http.Request) string {
	if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/") {
		return ""
	}
	digest := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hit[digest] && r.Header.Get("Range") != "" {
		p.ranged[digest] = true
	}
	f := p.faults[digest]
	if f != "" {
		delete(p.faults, digest)
		p.hit[digest] = true
	}
	return f
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fault := p.take(r)
	out, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+p.target+r.URL.RequestURI(), r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = r.Header.Clone()
	out.ContentLength = r.ContentLength
	// The registry redirects nothing; a redirect would leave the proxy.
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	if fault == "" || resp.ContentLength < 2 {
		io.Copy(w, resp.Body)
		return
	}
	io.CopyN(w, resp.Body, resp.ContentLength/2)
	w.(http.Flusher).Flush()
	if fault == faultStall {
		select {
		case <-r.Context().Done():
		case <-p.stop:
		case <-time.After(maxStall):
		}
	}
	p.reset(w)
}

// reset closes the client's connection with a TCP reset.
func (p *faultProxy) reset(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}
