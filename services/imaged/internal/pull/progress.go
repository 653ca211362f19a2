package pull

import (
	"io"
	"sync"

	imagesv1 "berth.dev/proto/berth/images/v1"
)

// Layer states reported in progress.
const (
	stateWaiting     = "waiting"
	stateDownloading = "downloading"
	stateDownloaded  = "downloaded"
	stateExists      = "exists"
	stateUnpacking   = "unpacking"
	stateUnpacked    = "unpacked"
)

// progress is the pull's shared state, snapshotted for each report.
type progress struct {
	mu     sync.Mutex
	p      imagesv1.PullProgress
	layers []*imagesv1.LayerProgress
	// config is the image's config digest, reported once it is recorded.
	config string
}

func (p *progress) setStatus(s string) {
	p.mu.Lock()
	p.p.Status = s
	p.mu.Unlock()
}

// done reports the recorded image.
func (p *progress) done(target string) {
	p.mu.Lock()
	p.p.Status, p.p.TargetDigest, p.p.ConfigDigest = "done", target, p.config
	p.mu.Unlock()
}

func (p *progress) layer(i int, state string) {
	p.mu.Lock()
	p.layers[i].State = state
	p.mu.Unlock()
}

func (p *progress) add(i int, n int64) {
	p.mu.Lock()
	p.layers[i].Offset += n
	p.mu.Unlock()
}

func (p *progress) snapshot() *imagesv1.PullProgress {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := &imagesv1.PullProgress{Name: p.p.Name, Status: p.p.Status, TargetDigest: p.p.TargetDigest, ConfigDigest: p.p.ConfigDigest}
	for _, l := range p.layers {
		out.Layers = append(out.Layers, &imagesv1.LayerProgress{Digest: l.Digest, Size: l.Size, Offset: l.Offset, State: l.State})
	}
	return out
}

// counter reports bytes as they stream through.
type counter struct {
	r io.Reader
	p *progress
	i int
}

func (c *counter) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.add(c.i, int64(n))
	return n, err
}
