package progress

import (
	"fmt"
	"io"
	"time"

	"berth.dev/cmd/berth/internal/format"
	imagesv1 "berth.dev/proto/berth/images/v1"
)

// Plain prints one line per layer event, for logs and pipes: each state
// change, and each further tenth of a download.
//
//	3f4a5b6c7d8e: downloading  40% 1.05MB/2.62MB
type Plain struct {
	w      io.Writer
	t      tracker
	status string
}

// NewPlain writes to w.
func NewPlain(w io.Writer) *Plain { return &Plain{w: w} }

// Update renders a snapshot of the stream.
func (r *Plain) Update(p *imagesv1.PullProgress, now time.Time) { r.render(p, now, false) }

// Finish renders the last snapshot: every layer of a finished pull is done.
func (r *Plain) Finish(p *imagesv1.PullProgress, now time.Time) { r.render(p, now, true) }

func (r *Plain) render(p *imagesv1.PullProgress, now time.Time, final bool) {
	if p.Status != r.status && p.Status != "done" {
		r.status = p.Status
		fmt.Fprintf(r.w, "%s: %s\n", p.Name, p.Status)
	}
	prev := map[*layer]string{}
	for _, l := range r.t.layers {
		prev[l] = l.state
	}
	for _, l := range r.t.update(p, now, final) {
		bucket := l.percent() / 10
		if prev[l] == l.state && (l.state != Downloading || bucket == l.bucket) {
			continue
		}
		l.bucket = bucket
		fmt.Fprintf(r.w, "%s: %-11s %3d%% %s/%s\n", Short(l.digest), l.state, l.percent(), format.Size(l.offset), format.Size(l.size))
	}
	if final && p.Status == "done" {
		done, size := r.t.totals()
		fmt.Fprintf(r.w, "%s: done 100%% %s/%s\n", p.Name, format.Size(done), format.Size(size))
	}
}
