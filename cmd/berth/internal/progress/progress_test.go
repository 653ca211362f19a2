package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"

	imagesv1 "berth.dev/proto/berth/images/v1"
)

func snap(status string, layers ...*imagesv1.LayerProgress) *imagesv1.PullProgress {
	return &imagesv1.PullProgress{Name: "r/x:1", Status: status, Layers: layers}
}

func lp(d string, size, off int64, state string) *imagesv1.LayerProgress {
	return &imagesv1.LayerProgress{Digest: "sha256:" + d, Size: size, Offset: off, State: state}
}

func TestPlainOneLinePerEventEndsAtHundred(t *testing.T) {
	var b bytes.Buffer
	r := NewPlain(&b)
	now := time.Unix(0, 0)
	a := strings.Repeat("a", 64)
	r.Update(snap("downloading", lp(a, 1000, 0, "waiting")), now)
	r.Update(snap("downloading", lp(a, 1000, 0, "waiting")), now) // no change, no line
	for off := int64(50); off <= 1000; off += 50 {
		r.Update(snap("downloading", lp(a, 1000, off, "downloading")), now)
	}
	r.Update(snap("unpacking", lp(a, 1000, 1000, "unpacking")), now)
	r.Finish(snap("done", lp(a, 1000, 1000, "unpacked")), now)
	out := b.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if strings.Count(out, "aaaaaaaaaaaa: downloading") > 11 {
		t.Errorf("more than one line per tenth:\n%s", out)
	}
	for _, want := range []string{"aaaaaaaaaaaa: waiting       0%", "aaaaaaaaaaaa: downloading  50%", "aaaaaaaaaaaa: unpacking   100%", "aaaaaaaaaaaa: done        100% 1kB/1kB"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if last := lines[len(lines)-1]; last != "r/x:1: done 100% 1kB/1kB" {
		t.Errorf("last line %q", last)
	}
}

func TestBarsRedrawInPlace(t *testing.T) {
	var b bytes.Buffer
	r := NewBars(&b)
	now := time.Unix(0, 0)
	r.Update(snap("downloading", lp("b1", 2000, 1000, "downloading"), lp("c2", 10, 0, "waiting")), now)
	r.Update(snap("downloading", lp("b1", 2000, 2000, "downloaded"), lp("c2", 10, 5, "downloading")), now.Add(time.Second))
	r.Finish(snap("done", lp("b1", 2000, 2000, "unpacked"), lp("c2", 10, 10, "unpacked")), now.Add(2*time.Second))
	out := b.String()
	if strings.Count(out, "\x1b[3A") != 2 {
		t.Errorf("want two moves up over three lines: %q", out)
	}
	if !strings.Contains(out, "b1  downloading [===============>") || !strings.Contains(out, "c2  downloading [===============>") || !strings.Contains(out, "5B/s") {
		t.Errorf("no half bars with a rate: %q", out)
	}
	last := out[strings.LastIndex(out, "\x1b[3A"):]
	if !strings.Contains(last, "r/x:1: done") || !strings.Contains(last, "c2  done        ["+strings.Repeat("=", 30)+"]      10B/10B") {
		t.Errorf("last block: %q", last)
	}
}

// TestStreamedUnpackShowsDownloadingUntilTheBytesAreIn follows imaged's
// streamed unpack: "unpacking" from the start of the download, then
// "downloaded" while the apply finishes, then "unpacked".
func TestStreamedUnpackShowsDownloadingUntilTheBytesAreIn(t *testing.T) {
	var b bytes.Buffer
	r := NewPlain(&b)
	now := time.Unix(0, 0)
	d := strings.Repeat("d", 64)
	r.Update(snap("downloading", lp(d, 1000, 0, "waiting")), now)
	r.Update(snap("downloading", lp(d, 1000, 300, "unpacking")), now)
	r.Update(snap("downloading", lp(d, 1000, 700, "unpacking")), now)
	r.Update(snap("downloading", lp(d, 1000, 1000, "unpacking")), now)
	r.Update(snap("downloading", lp(d, 1000, 1000, "downloaded")), now)
	r.Finish(snap("done", lp(d, 1000, 1000, "unpacked")), now)
	want := []string{
		"dddddddddddd: waiting       0% 0B/1kB",
		"dddddddddddd: downloading  30% 300B/1kB",
		"dddddddddddd: downloading  70% 700B/1kB",
		"dddddddddddd: unpacking   100% 1kB/1kB",
		"dddddddddddd: done        100% 1kB/1kB",
		"r/x:1: done 100% 1kB/1kB",
	}
	got := strings.Split(strings.TrimSpace(b.String()), "\n")
	if strings.Join(got, "\n") != "r/x:1: downloading\n"+strings.Join(want, "\n") {
		t.Fatalf("got:\n%s", b.String())
	}
}
