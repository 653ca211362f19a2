package progress

import (
	"strings"
	"time"

	imagesv1 "berth.dev/proto/berth/images/v1"
)

// The states a person sees.
const (
	Waiting     = "waiting"
	Downloading = "downloading"
	Downloaded  = "downloaded"
	Unpacking   = "unpacking"
	Done        = "done"
)

// display folds imaged's layer state and byte count into the one shown.
// imaged may unpack a layer while it still downloads (the unpack reads the
// download as it streams), so a layer is shown downloading until its bytes
// are all there; a streamed layer whose download then completes is still
// being unpacked, not merely downloaded.
func display(server string, offset, size int64, wasUnpacking bool) string {
	switch server {
	case "unpacked", "exists":
		return Done
	case "", Waiting:
		return Waiting
	}
	if size > 0 && offset < size {
		return Downloading
	}
	switch {
	case server == Unpacking, server == Downloaded && wasUnpacking:
		return Unpacking
	case server == Downloaded:
		return Downloaded
	}
	return server
}

// layer is what the renderers remember of one layer between updates.
type layer struct {
	digest string
	size   int64
	offset int64
	state  string
	// rate in bytes per second, smoothed; sampled at lastAt/lastOffset.
	rate       float64
	lastAt     time.Time
	lastOffset int64
	// bucket is the last tenth of the download reported by Plain.
	bucket int
	// unpacking is set once imaged said it unpacks the layer.
	unpacking bool
}

// Short is the 12 hex digits people recognise a layer by.
func Short(digest string) string {
	_, hex, ok := strings.Cut(digest, ":")
	if !ok {
		hex = digest
	}
	if len(hex) > 12 {
		hex = hex[:12]
	}
	return hex
}

// percent of the layer downloaded; done layers are at 100.
func (l *layer) percent() int {
	if l.state == Done {
		return 100
	}
	if l.size <= 0 {
		return 0
	}
	p := int(l.offset * 100 / l.size)
	if p > 100 {
		p = 100
	}
	return p
}

// tracker folds successive progress snapshots into per-layer state.
type tracker struct {
	order  []string
	layers map[string]*layer
}

func (t *tracker) update(p *imagesv1.PullProgress, now time.Time, final bool) []*layer {
	if t.layers == nil {
		t.layers = map[string]*layer{}
	}
	var changed []*layer
	for _, lp := range p.Layers {
		l, ok := t.layers[lp.Digest]
		if !ok {
			l = &layer{digest: lp.Digest, lastAt: now, bucket: -1}
			t.layers[lp.Digest] = l
			t.order = append(t.order, lp.Digest)
		}
		l.unpacking = l.unpacking || lp.State == Unpacking
		state := display(lp.State, lp.Offset, lp.Size, l.unpacking)
		if final && p.Status == "done" {
			state = Done
		}
		if dt := now.Sub(l.lastAt).Seconds(); dt >= 0.2 {
			inst := float64(lp.Offset-l.lastOffset) / dt
			if l.rate == 0 {
				l.rate = inst
			} else {
				l.rate = 0.5*l.rate + 0.5*inst
			}
			l.lastAt, l.lastOffset = now, lp.Offset
		}
		if !ok || state != l.state || lp.Offset != l.offset || lp.Size != l.size {
			changed = append(changed, l)
		}
		l.size, l.offset, l.state = lp.Size, lp.Offset, state
		if state == Done && l.size > 0 {
			l.offset = l.size
		}
	}
	return changed
}

// totals sums the layers' bytes.
func (t *tracker) totals() (done, size int64) {
	for _, d := range t.order {
		l := t.layers[d]
		done += l.offset
		size += l.size
	}
	return done, size
}
