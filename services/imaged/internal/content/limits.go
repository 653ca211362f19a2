package content

// MaxOpenIngests bounds the writes one namespace may hold open at once:
// each holds a file, a hash and a goroutine in the daemon, so a client that
// opens writes and never finishes them cannot exhaust imaged for every other
// namespace. A pull opens one per layer it fetches in parallel, far below.
const MaxOpenIngests = 256

// openIn counts the writes held open in namespace ns; s.mu is held.
func (s *Store) openIn(ns string) int {
	n := 0
	for _, h := range s.locks {
		if h.ns == ns {
			n++
		}
	}
	return n
}
