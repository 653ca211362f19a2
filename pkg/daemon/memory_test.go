package daemon

import (
	"context"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

func TestReleaserReleasesWhenQuietWithGarbage(t *testing.T) {
	const mib = 1 << 20
	r := releaser{lastAllocs: 0}
	steps := []struct {
		name    string
		s       heapSample
		release bool
	}{
		{"quiet, holding only live objects", heapSample{allocs: mib / 10, held: 8 * mib, live: 7 * mib}, false},
		{"busy, garbage piling up", heapSample{allocs: 40 * mib, held: 20 * mib, live: 7 * mib}, false},
		{"quiet after work", heapSample{allocs: 40*mib + mib/5, held: 20 * mib, live: 7 * mib}, true},
		{"released", heapSample{allocs: 40*mib + mib/2, held: 8 * mib, live: 7 * mib}, false},
		{"quiet, garbage trickling in", heapSample{allocs: 40*mib + mib, held: 9*mib + mib/2, live: 7 * mib}, true},
		{"quiet, live heap grew", heapSample{allocs: 40*mib + 3*mib/2, held: 12 * mib, live: 11 * mib}, false},
	}
	for _, s := range steps {
		if got, _ := r.release(s.s); got != s.release {
			t.Errorf("%s: release %v, want %v", s.name, got, s.release)
		}
	}
}

func TestHeapMetricsExist(t *testing.T) {
	// A metric the runtime does not know reads as KindBad: zero, and no
	// release ever.
	samples := make([]metrics.Sample, len(heapMetrics))
	for i, name := range heapMetrics {
		samples[i].Name = name
	}
	metrics.Read(samples)
	for _, s := range samples {
		if s.Value.Kind() != metrics.KindUint64 {
			t.Errorf("runtime metric %s: kind %v", s.Name, s.Value.Kind())
		}
	}
	if h := readHeap(samples); h.allocs == 0 || h.held == 0 {
		t.Errorf("heap sample %+v", h)
	}
}

func TestReleaseIdleMemoryStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- releaseIdleMemory(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("releaseIdleMemory did not return after its context ended")
	}
}

// What a pool kept for later is gone after a release, not kept for one
// more collection in the pool's victim cache.
func TestReleaseEmptiesPools(t *testing.T) {
	var pool sync.Pool
	buf := new([1 << 20]byte)
	pool.Put(buf)
	releaseHeap()
	if got := pool.Get(); got != nil {
		t.Fatal("a pooled buffer survived the release")
	}
}
