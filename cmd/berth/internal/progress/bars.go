package progress

import (
	"fmt"
	"io"
	"strings"
	"time"

	"berth.dev/cmd/berth/internal/format"
	imagesv1 "berth.dev/proto/berth/images/v1"
)

// Bars redraws one bar per layer in place on a terminal:
//
//	3f4a5b6c7d8e  downloading  [=========>          ]  1.05MB/2.62MB  812kB/s
type Bars struct {
	w     io.Writer
	t     tracker
	lines int // lines drawn last time, to move back over
	width int
}

// NewBars draws on w, a terminal.
func NewBars(w io.Writer) *Bars { return &Bars{w: w, width: 30} }

// Update redraws for a snapshot of the stream.
func (b *Bars) Update(p *imagesv1.PullProgress, now time.Time) { b.draw(p, now, false) }

// Finish draws the last snapshot.
func (b *Bars) Finish(p *imagesv1.PullProgress, now time.Time) { b.draw(p, now, true) }

func (b *Bars) draw(p *imagesv1.PullProgress, now time.Time, final bool) {
	b.t.update(p, now, final)
	var out strings.Builder
	if b.lines > 0 {
		fmt.Fprintf(&out, "\x1b[%dA", b.lines)
	}
	done, size := b.t.totals()
	status := p.Status
	fmt.Fprintf(&out, "\x1b[2K%s: %s %s/%s\n", p.Name, status, format.Size(done), format.Size(size))
	for _, d := range b.t.order {
		l := b.t.layers[d]
		out.WriteString("\x1b[2K" + b.line(l) + "\n")
	}
	b.lines = 1 + len(b.t.order)
	io.WriteString(b.w, out.String())
}

func (b *Bars) line(l *layer) string {
	pct := l.percent()
	filled := pct * b.width / 100
	bar := strings.Repeat("=", filled)
	if filled < b.width {
		bar += ">" + strings.Repeat(" ", b.width-filled-1)
	}
	s := fmt.Sprintf("%s  %-11s [%s] %8s/%-8s", Short(l.digest), l.state, bar, format.Size(l.offset), format.Size(l.size))
	if l.state == Downloading && l.rate > 0 {
		s += "  " + format.Size(int64(l.rate)) + "/s"
	}
	return s
}
