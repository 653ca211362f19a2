package content

import (
	"context"
	"os"
	"path/filepath"
)

type clientWriteKey struct{}

// ClientWrite marks ctx's writes as a client's (content Write): their
// ingest belongs to the lease they are opened under and goes when it ends.
// imaged's own pulls do not mark theirs: a pull's lease ends with the pull,
// failed or not, and its partial downloads stay for a retry to resume
// until the ingest timeout.
func ClientWrite(ctx context.Context) context.Context {
	return context.WithValue(ctx, clientWriteKey{}, true)
}

// RemoveIngestsOfEndedLeases removes the ingests that no writer holds and
// whose lease (the one their latest writer opened them under) has ended,
// as asked of ended with the ingest's namespace; it returns how many went.
// A write interrupted for good (its client gone, or imaged killed during
// it) leaves its ingest on disk: containerd's collector removes it with
// its lease, and so does this, instead of the ingest timeout. An ingest
// opened without a lease is left to that timeout. Every namespace's
// ingests are judged in one pass: the collector calls it once per
// collection, so each ingest's meta.json is read once, not once per
// namespace.
func (s *Store) RemoveIngestsOfEndedLeases(ended func(ns, lease string) bool) int {
	dirs, _ := filepath.Glob(filepath.Join(s.root, "ingest", "*"))
	// The leases are asked without s.mu held; the removal then checks,
	// under it, that no writer took the ingest and that its lease is
	// still the one asked about (a writer resuming it under another lease
	// rewrites it).
	candidates := map[string]string{}
	for _, dir := range dirs {
		if m, ok := readIngestMeta(dir); ok && m.Lease != "" && ended(m.Namespace, m.Lease) {
			candidates[dir] = m.Lease
		}
	}
	if len(candidates) == 0 {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	removed := 0
	for dir, l := range candidates {
		if _, taken := s.locks[dir]; taken {
			continue
		}
		if m, ok := readIngestMeta(dir); !ok || m.Lease != l {
			continue
		}
		if os.RemoveAll(dir) == nil {
			removed++
		}
	}
	return removed
}
