package transfer

import (
	"testing"

	"github.com/containerd/containerd/api/types"
	transfertypes "github.com/containerd/containerd/api/types/transfer"
	"google.golang.org/protobuf/types/known/anypb"

	imagesv1 "berth.dev/proto/berth/images/v1"
)

// sink records what a progress stream was sent.
type sink struct{ got []*transfertypes.Progress }

func (s *sink) Send(a *anypb.Any) error {
	var p transfertypes.Progress
	if err := a.UnmarshalTo(&p); err != nil {
		return err
	}
	s.got = append(s.got, &p)
	return nil
}
func (s *sink) Recv() (*anypb.Any, error) { select {} }
func (s *sink) Close() error              { return nil }

// Layer states become containerd's events, each sent once per change, and
// the type URL is the bare name containerd's clients expect.
func TestLayerEvents(t *testing.T) {
	s := &sink{}
	l := &layerEvents{pr: &progress{s: s}, sent: map[string]*transfertypes.Progress{}}
	snap := func(state string, offset int64) *imagesv1.PullProgress {
		return &imagesv1.PullProgress{Layers: []*imagesv1.LayerProgress{{Digest: "sha256:aa", Size: 10, Offset: offset, State: state}}}
	}
	for _, p := range []*imagesv1.PullProgress{
		snap("waiting", 0), snap("downloading", 4), snap("downloading", 4), snap("downloading", 8),
		snap("downloaded", 10), snap("unpacking", 10), snap("unpacked", 10), snap("unpacked", 10),
	} {
		l.report("example.com/app:1", p)
	}
	want := []struct {
		ev       string
		progress int64
	}{{"waiting", 0}, {"downloading", 4}, {"downloading", 8}, {"complete", 10}, {"extracting", 0}, {"extracted", 10}}
	if len(s.got) != len(want) {
		t.Fatalf("sent %d events, want %d: %v", len(s.got), len(want), s.got)
	}
	for i, w := range want {
		g := s.got[i]
		if g.Event != w.ev || g.Progress != w.progress || g.Total != 10 || g.Name != "layer-sha256:aa" || len(g.Parents) != 1 || g.Parents[0] != "example.com/app:1" {
			t.Errorf("event %d: %+v, want %s at %d", i, g, w.ev, w.progress)
		}
	}
}

func TestAnyTypeURLIsBare(t *testing.T) {
	s := &recorder{}
	(&progress{s: s}).event("Exporting")
	if s.url != "containerd.types.transfer.Progress" {
		t.Fatalf("type URL %q", s.url)
	}
}

type recorder struct{ url string }

func (r *recorder) Send(a *anypb.Any) error   { r.url = a.TypeUrl; return nil }
func (r *recorder) Recv() (*anypb.Any, error) { select {} }
func (r *recorder) Close() error              { return nil }

func TestUnpackPlatform(t *testing.T) {
	for _, tc := range []struct {
		dst  *transfertypes.ImageStore
		want string
	}{
		{&transfertypes.ImageStore{}, ""},
		{&transfertypes.ImageStore{Platforms: []*types.Platform{{OS: "linux", Architecture: "arm64", Variant: "v8"}}}, "linux/arm64/v8"},
		{&transfertypes.ImageStore{Unpacks: []*transfertypes.UnpackConfiguration{{Platform: &types.Platform{OS: "linux", Architecture: "amd64"}}},
			Platforms: []*types.Platform{{OS: "linux", Architecture: "arm64"}}}, "linux/amd64"},
	} {
		if got := unpackPlatform(tc.dst); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.dst, got, tc.want)
		}
	}
}
