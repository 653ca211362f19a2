//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"berth.dev/test/e2e/harness"
)

// slowWriter sends a blob in small pieces with pauses, so a pull spans
// many progress reports.
type slowWriter struct {
	http.ResponseWriter
}

func (w slowWriter) Write(p []byte) (int, error) {
	const piece = 64 << 10
	written := 0
	for len(p) > 0 {
		n := min(piece, len(p))
		m, err := w.ResponseWriter.Write(p[:n])
		written += m
		if err != nil {
			return written, err
		}
		if f, ok := w.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		p = p[n:]
		time.Sleep(20 * time.Millisecond)
	}
	return written, nil
}

// slowRegistry is a loopback registry whose blob downloads crawl.
func slowRegistry(t *testing.T) string {
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			w = slowWriter{w}
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

var progressLine = regexp.MustCompile(`^([0-9a-f]{12}): (\S+) +(\d+)% (\S+)/(\S+)$`)

// TestCLIPullProgress pulls from a slowed loopback registry over plain
// HTTP: one line per layer event, each layer's percentages rise, every
// layer ends done at 100%, and the image runs.
func TestCLIPullProgress(t *testing.T) {
	host := slowRegistry(t)
	img, err := mutate.AppendLayers(harness.BusyboxImage(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		extra, err := random.Layer(600<<10, "application/vnd.docker.image.rootfs.diff.tar.gzip")
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, extra); err != nil {
			t.Fatal(err)
		}
	}
	ref := host + "/cli/slow:1"
	harness.Push(t, ref, img)
	layers, _ := img.Layers()

	st := harness.Start(t)
	c := newCLI(t, st)
	c.cleanup(t)
	// Loopback registries are spoken to over http:// anyway; --plain-http
	// matters for other hosts, and must not get in the way here.
	res := c.run(t, nil, "pull", "--plain-http", ref)
	if res.code != 0 {
		t.Fatalf("pull: %s", res)
	}
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	last := map[string]int{}
	states := map[string][]string{}
	for _, l := range lines {
		m := progressLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		pct, _ := strconv.Atoi(m[3])
		if pct < last[m[1]] {
			t.Fatalf("layer %s went back from %d%% to %d%%:\n%s", m[1], last[m[1]], pct, res.stdout)
		}
		last[m[1]] = pct
		if s := states[m[1]]; len(s) == 0 || s[len(s)-1] != m[2] {
			states[m[1]] = append(states[m[1]], m[2])
		}
		if m[2] == "done" && (pct != 100 || m[4] != m[5]) {
			t.Fatalf("done below 100%%: %q", l)
		}
	}
	if len(states) != len(layers) {
		t.Fatalf("progress for %d layers, the image has %d:\n%s", len(states), len(layers), res.stdout)
	}
	sawDownloading := false
	for d, s := range states {
		if s[len(s)-1] != "done" || last[d] != 100 {
			t.Fatalf("layer %s ended %v at %d%%:\n%s", d, s, last[d], res.stdout)
		}
		for _, state := range s {
			sawDownloading = sawDownloading || state == "downloading"
		}
	}
	if !sawDownloading {
		t.Fatalf("no layer was seen downloading:\n%s", res.stdout)
	}
	if want := fmt.Sprintf("%s: done 100%%", ref); !strings.HasPrefix(lines[len(lines)-2], want) || !strings.HasPrefix(lines[len(lines)-1], ref+" sha256:") {
		t.Fatalf("last lines %q %q", lines[len(lines)-2], lines[len(lines)-1])
	}

	var rows []struct {
		Name string `json:"name"`
		Size int64  `json:"size"`
	}
	dec := json.NewDecoder(strings.NewReader(c.must(t, "images", "--format", "json")))
	for dec.More() {
		var r struct {
			Name string `json:"name"`
			Size int64  `json:"size"`
		}
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	if len(rows) != 1 || rows[0].Name != ref || rows[0].Size < 1200<<10 {
		t.Fatalf("images: %+v", rows)
	}
	if out := c.must(t, "run", "--rm", ref, "echo", "pulled-and-ran"); out != "pulled-and-ran\n" {
		t.Fatalf("run: %q", out)
	}
	if res := c.run(t, nil, "pull", "--plain-http", host+"/cli/missing:1"); res.code != 125 || !strings.Contains(res.stderr, "not found") {
		t.Fatalf("missing image: %s", res)
	}
}
