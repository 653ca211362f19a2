package pull

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
)

// stallingServer sends half of a 64 KiB blob, then nothing until the
// request or the test ends; a request to /slow/ answers headers only
// after the test ends.
func stallingServer(t *testing.T) *httptest.Server {
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/slow/") {
			select {
			case <-r.Context().Done():
			case <-done:
			}
			return
		}
		w.Header().Set("Content-Length", "65536")
		w.Write(make([]byte, 32768))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	t.Cleanup(func() { close(done); srv.Close() })
	return srv
}

func TestProgressDeadlineFailsAStalledBody(t *testing.T) {
	srv := stallingServer(t)
	client := &http.Client{Transport: withProgressDeadline(http.DefaultTransport, 200*time.Millisecond)}
	resp, err := client.Get(srv.URL + "/v2/x/blobs/sha256:abc")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if n != 32768 {
		t.Errorf("read %d bytes before the stall, want 32768", n)
	}
	if !errdefs.IsUnavailable(err) {
		t.Fatalf("a stalled body: %v, want Unavailable", err)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	if !strings.Contains(err.Error(), "blob sha256:abc") || !strings.Contains(err.Error(), host) {
		t.Fatalf("%q names neither the blob nor the registry %s", err, host)
	}
}

func TestProgressDeadlineFailsMissingHeaders(t *testing.T) {
	srv := stallingServer(t)
	client := &http.Client{Transport: withProgressDeadline(http.DefaultTransport, 200*time.Millisecond)}
	_, err := client.Get(srv.URL + "/slow/v2/x/manifests/latest")
	if !errdefs.IsUnavailable(err) || !strings.Contains(err.Error(), "manifest latest") {
		t.Fatalf("a registry that never answers: %v, want Unavailable naming the manifest", err)
	}
}

// Time spent outside a read (a slow disk, an apply lagging behind) is not
// the registry's: a consumer pausing past the deadline still gets the rest.
func TestProgressDeadlineCountsOnlyWaitsInRead(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 1<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(data) }))
	t.Cleanup(srv.Close)
	client := &http.Client{Transport: withProgressDeadline(http.DefaultTransport, 100*time.Millisecond)}
	resp, err := client.Get(srv.URL + "/v2/x/blobs/sha256:def")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 4096)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the consumer is busy
	rest, err := io.ReadAll(resp.Body)
	if err != nil || len(rest)+len(buf) != len(data) {
		t.Fatalf("after a pause in the consumer: %d more bytes, %v", len(rest), err)
	}
}

// The caller's own cancellation stays what it is.
func TestProgressDeadlineKeepsCallerCancel(t *testing.T) {
	srv := stallingServer(t)
	client := &http.Client{Transport: withProgressDeadline(http.DefaultTransport, time.Hour)}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v2/x/blobs/sha256:abc", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 32768)
	io.ReadFull(resp.Body, buf)
	cancel()
	_, err = io.Copy(io.Discard, resp.Body)
	if err == nil || errdefs.IsUnavailable(err) {
		t.Fatalf("a read the caller cancelled: %v, want its cancellation", err)
	}
}
