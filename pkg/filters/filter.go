package filters

import (
	"regexp"
	"strings"
)

// Adaptor exposes an object's fields to a filter.
type Adaptor interface {
	Field(fieldpath []string) (value string, present bool)
}

// AdapterFunc adapts a function to Adaptor.
type AdapterFunc func(fieldpath []string) (string, bool)

// Field calls f.
func (f AdapterFunc) Field(fieldpath []string) (string, bool) { return f(fieldpath) }

// Filter decides whether an object matches.
type Filter interface {
	Match(Adaptor) bool
}

type operator int

const (
	opPresent operator = iota
	opEqual
	opNotEqual
	opMatches
)

type selector struct {
	path  []string
	op    operator
	value string
	re    *regexp.Regexp
}

// Match follows containerd: a missing field is absent for presence and ==,
// but the empty string for != and ~=.
func (s selector) Match(a Adaptor) bool {
	v, ok := a.Field(s.path)
	switch s.op {
	case opEqual:
		return ok && v == s.value
	case opNotEqual:
		return v != s.value
	case opMatches:
		return s.re.MatchString(v)
	}
	return ok
}

// all matches when every selector does.
type all []selector

func (f all) Match(a Adaptor) bool {
	for _, s := range f {
		if !s.Match(a) {
			return false
		}
	}
	return true
}

// any matches when one of its filters does; an empty any matches everything.
type any []Filter

func (f any) Match(a Adaptor) bool {
	if len(f) == 0 {
		return true
	}
	for _, x := range f {
		if x.Match(a) {
			return true
		}
	}
	return false
}

// Always matches everything.
var Always Filter = any(nil)

// MatchesEverything reports whether f matches every object without reading
// it (it came from no filters, or an empty one among them), so a caller may
// skip decoding what it lists.
func MatchesEverything(f Filter) bool {
	a, ok := f.(any)
	return ok && len(a) == 0
}

// LabelsAdaptor answers "labels.<key>" paths from a label map, the common
// case of every object type.
func LabelsAdaptor(labels map[string]string, fieldpath []string) (string, bool) {
	if len(fieldpath) < 2 {
		return "", len(labels) > 0
	}
	v, ok := labels[strings.Join(fieldpath[1:], ".")]
	return v, ok
}
