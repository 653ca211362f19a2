package task

import (
	"sync"
	"sync/atomic"
	"testing"
)

func TestParallelCallsEachOnceWithinTheLimit(t *testing.T) {
	for _, tc := range []struct{ n, limit int }{{0, 4}, {1, 4}, {3, 4}, {100, 4}, {100, 1}} {
		var mu sync.Mutex
		seen := map[int]int{}
		var running, most atomic.Int64
		parallel(tc.n, tc.limit, func(i int) {
			r := running.Add(1)
			for m := most.Load(); r > m && !most.CompareAndSwap(m, r); m = most.Load() {
			}
			mu.Lock()
			seen[i]++
			mu.Unlock()
			running.Add(-1)
		})
		if len(seen) != tc.n {
			t.Fatalf("n=%d: %d indexes called", tc.n, len(seen))
		}
		for i, c := range seen {
			if c != 1 || i < 0 || i >= tc.n {
				t.Fatalf("n=%d: index %d called %d times", tc.n, i, c)
			}
		}
		if most.Load() > int64(tc.limit) {
			t.Fatalf("n=%d: %d calls at once, limit %d", tc.n, most.Load(), tc.limit)
		}
	}
}
