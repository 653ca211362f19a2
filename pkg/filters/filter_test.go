package filters

import (
	"errors"
	"strings"
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
	img := obj{"name": "docker.io/library/busybox:1", "labels.io.k8s/app": "web", "labels.x": "1", "topic": "/tasks/exit"}
	for _, tc := range []struct {
		exprs []string
		want  bool
	}{
		{nil, true},
		{[]string{""}, true},
		{[]string{"name~=alpine", ""}, true}, // an empty filter among others matches all
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
		{[]string{"name == docker.io/library/busybox:1, labels.x==1"}, true},
		// A missing field is "" for != and ~=, as in containerd.
		{[]string{"missing!=a"}, true},
		{[]string{"missing==a"}, false},
		{[]string{"missing~=^$"}, true},
		// Every quote character of containerd's syntax, / and | for regular
		// expressions.
		{[]string{`topic~=|^/tasks/|`}, true},
		{[]string{`topic~=|^/images/|`}, false},
		{[]string{`topic~=/^\/tasks\//`}, true},
		{[]string{`topic~="^/tasks/"`}, true},
		{[]string{`topic~=|^/tasks/(exit\|oom)$|`}, true},
		{[]string{`topic=="/tasks/exit"`}, true},
		{[]string{`topic=="\x2ftasks\u002fexit"`}, true},
		{[]string{`topic=="\057tasks/exit"`}, true},
		{[]string{`name==docker.io/library/busybox:1,topic~=|exit|`}, true},
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

// TestParse checks what each quoted or bare form parses to.
func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in    string
		path  []string
		op    operator
		value string
	}{
		{`topic~=|^/tasks/|`, []string{"topic"}, opMatches, "^/tasks/"},
		{`topic~=/^\/tasks\//`, []string{"topic"}, opMatches, "^/tasks/"},
		{`topic~=|a"b/c|`, []string{"topic"}, opMatches, `a"b/c`},
		{`topic~=/a|b/`, []string{"topic"}, opMatches, "a|b"},
		{`topic=="/tasks/create"`, []string{"topic"}, opEqual, "/tasks/create"},
		{`a=="tab\there"`, []string{"a"}, opEqual, "tab\there"},
		{`a=="\x41\101\u00e9\U0001F600"`, []string{"a"}, opEqual, "AAé😀"},
		{`a==b.c/d:e"f|g`, []string{"a"}, opEqual, `b.c/d:e"f|g`},
		{`labels."io.k8s/app"`, []string{"labels", "io.k8s/app"}, opPresent, ""},
	} {
		f, err := parseOne(tc.in)
		if err != nil {
			t.Errorf("parseOne(%q): %v", tc.in, err)
			continue
		}
		sel := f[0]
		if strings.Join(sel.path, "\x00") != strings.Join(tc.path, "\x00") || sel.op != tc.op || sel.value != tc.value {
			t.Errorf("parseOne(%q) = %q %v %q, want %q %v %q", tc.in, sel.path, sel.op, sel.value, tc.path, tc.op, tc.value)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, e := range []string{
		"==a", "name==", `labels."unterminated==1`, "name~=[", "name==a,", "a b", " ",
		"name==a ,b",           // a value ends at a space; only ',' may follow
		"a==b ",                // ... or the end
		"a .b",                 // a field path has no spaces
		"a-b==c",               // '-' needs quoting in a field
		"a=b", "a===b", "a=!b", // operators are exactly ==, != and ~=
		`a==/x/`, `a!=|x|`, // / and | quote only regular expressions
		`|a|==b`, `/a/`, // ... never a field
		`a~=/\d/`,         // containerd's escapes only: no \d
		`a~=|x\/y|`,       // ... and only the quote's own
		`a=="\400"`,       // octal above \377
		`a=="\U00110000"`, // beyond Unicode
		`a=="\x4"`,        // too few digits
		"a==\"x\ny\"",     // a newline ends nothing
		"a==b\x00", "a\xff==b", "a==\uFFFD",
		"a==.b", "a==,b", "a.==b", ",a",
	} {
		if _, err := Parse(e); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("Parse(%q) = %v, want InvalidArgument", e, err)
		}
	}
	// A bad filter is reported even after an empty one.
	if _, err := Parse("", "==a"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("Parse(\"\", \"==a\") = %v, want InvalidArgument", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"name==a", `labels."a.b"~=/x\/y/`, "a,b!=c", `"q"`, `topic~=|^/tasks/|`, `a=="\x41\101\u00e9"`, "a == b, c"} {
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
