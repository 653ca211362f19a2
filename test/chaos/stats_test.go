//go:build chaos

package chaos

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// known are invariant violations whose cause is a known defect in a daemon,
// by kind. They are counted and printed but do not fail the run; each names
// the defect so that a run shows when it is fixed (the count drops to zero).
var known = map[string]string{}

// stats are a run's figures.
type stats struct {
	mu         sync.Mutex
	ops        map[string]int
	opErrors   map[string]int
	errSamples map[string]string
	faults     map[string]int
	missed     map[string]int
	violations []violation
	reported   map[string]bool // kind and detail of each violation, reported once
	checks     int
}

type violation struct {
	kind, detail, after string
}

func newStats() *stats {
	return &stats{ops: map[string]int{}, opErrors: map[string]int{}, errSamples: map[string]string{},
		faults: map[string]int{}, missed: map[string]int{}}
}

func (s *stats) op(kind string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ops[kind]++
	if err != nil {
		s.opErrors[kind]++
		if _, ok := s.errSamples[kind]; !ok {
			s.errSamples[kind] = err.Error()
		}
	}
}

func (s *stats) fault(kind string, injected bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if injected {
		s.faults[kind]++
	} else {
		s.missed[kind]++
	}
}

func (s *stats) violate(kind, after, format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := fmt.Sprintf(format, args...)
	// A state that stays wrong is one violation, not one per check.
	if s.reported == nil {
		s.reported = map[string]bool{}
	}
	if s.reported[kind+" "+d] {
		return
	}
	s.reported[kind+" "+d] = true
	fmt.Printf("chaos: VIOLATION %s after %s: %s\n", kind, after, d)
	s.violations = append(s.violations, violation{kind: kind, detail: d, after: after})
}

func (s *stats) unknownViolations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, v := range s.violations {
		if _, ok := known[v.kind]; !ok {
			n++
		}
	}
	return n
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func sorted(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%d", k, m[k])
	}
	return b.String()
}

// report prints the figures.
func (s *stats) report(seed int64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "chaos: ==== figures (seed %d) ====\n", seed)
	fmt.Fprintf(&b, "chaos: operations %d (failed %d):%s\n", total(s.ops), total(s.opErrors), sorted(s.ops))
	if len(s.opErrors) > 0 {
		fmt.Fprintf(&b, "chaos: failed operations:%s\n", sorted(s.opErrors))
		kinds := make([]string, 0, len(s.errSamples))
		for k := range s.errSamples {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			fmt.Fprintf(&b, "chaos:   first %s error: %.300s\n", k, s.errSamples[k])
		}
	}
	fmt.Fprintf(&b, "chaos: faults injected %d:%s\n", total(s.faults), sorted(s.faults))
	if len(s.missed) > 0 {
		fmt.Fprintf(&b, "chaos: faults that found no target:%s\n", sorted(s.missed))
	}
	fmt.Fprintf(&b, "chaos: invariant checks %d\n", s.checks)
	byKind := map[string]int{}
	for _, v := range s.violations {
		byKind[v.kind]++
	}
	fmt.Fprintf(&b, "chaos: invariant violations %d:%s\n", len(s.violations), sorted(byKind))
	for k := range byKind {
		if why, ok := known[k]; ok {
			fmt.Fprintf(&b, "chaos:   %s is known: %s\n", k, why)
		}
	}
	return b.String()
}

// allReported reports whether every finding (as eventually's probes give
// them) was reported before.
func (s *stats) allReported(kind string, found []string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range found {
		k := kind
		if fine, detail, ok := strings.Cut(f, "|"); ok {
			k, f = fine, detail
		}
		if !s.reported[k+" "+f] {
			return false
		}
	}
	return true
}
