package filters

import (
	"errors"
	"testing"

	"github.com/containerd/errdefs"
)

type obj map[string]string

func (o obj) Field(path []string) (string, bool) {
	if path[0] == "labels" {
		labels := map[string]string{}
		for k, v := range o {
			if len(k) > 7 && k[:7] == "labels." {
				labels[k[7:]] = v
			}
		}
		return LabelsAdaptor(labels, path)
	}
	v, ok := o[path[0]]
	return v, ok
}

func TestMatch(t *testing.T) {
	img := obj{"name": "docker.io/library/busybox:1", "labels.io.k8s/app": "web", "labels.x": "1"}
	for _, tc := range []struct {
		exprs []string
		want  bool
	}{
		{nil, true},
		{[]string{""}, true},
		{[]string{"name==docker.io/library/busybox:1"}, true},
		{[]string{"name!=docker.io/library/busybox:1"}, false},
		{[]string{"name~=busybox"}, true},
		{[]string{"name~=/^busy/"}, false},
		{[]string{`name~="^docker"`}, true},
		{[]string{`labels."io.k8s/app"==web`}, true},
		{[]string{`labels."io.k8s/app"==web,name~=alpine`}, false},
		{[]string{"name~=alpine", "labels.x==1"}, true},
		{[]string{"labels.x"}, true},
		{[]string{"labels.y"}, false},
		{[]string{"missing!=a"}, false},
		{[]string{"name == docker.io/library/busybox:1 , labels.x==1"}, true},
	} {
		f, err := Parse(tc.exprs...)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.exprs, err)
		}
		if got := f.Match(img); got != tc.want {
			t.Errorf("Parse(%q).Match = %v, want %v", tc.exprs, got, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, e := range []string{"==a", "name==", `labels."unterminated==1`, "name~=[", "name==a,", "a b"} {
		if _, err := Parse(e); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("Parse(%q) = %v, want InvalidArgument", e, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"name==a", `labels."a.b"~=/x\/y/`, "a,b!=c", `"q"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := Parse(s)
		if err != nil {
			return
		}
		flt.Match(obj{"name": "x"})
	})
}
