package daemon

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Memory work leaves in the heap otherwise stays with the daemon: the Go
// runtime keeps garbage and free pages up to its next collection's goal, and
// badger's memtable arena (allocated whole, touched as it fills) counts as
// live heap and doubles that goal. A daemon that has gone quiet gives back
// what its heap holds beyond its live objects.
const (
	releaseEvery = 10 * time.Second
	// quietAllocs is more than an idle daemon allocates in releaseEvery
	// (keepalives, badger's and the outbox's tickers, a metrics scrape):
	// about 0.1-0.2 MiB.
	quietAllocs = 1 << 20
	// releaseAbove is how much the heap must hold beyond its live objects
	// for a release to be worth a collection: at an idle daemon's pace,
	// one every few minutes.
	releaseAbove = 2 << 20
)

// heapSample is what the runtime says of the heap at one moment.
type heapSample struct {
	allocs uint64 // allocated since the start, cumulative
	held   uint64 // objects, live or not yet collected, and free pages not yet returned
	live   uint64 // live objects as of the last collection
}

var heapMetrics = []string{
	"/gc/heap/allocs:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/free:bytes",
	"/gc/heap/live:bytes",
}

func readHeap(s []metrics.Sample) heapSample {
	metrics.Read(s)
	v := func(i int) uint64 { return s[i].Value.Uint64() }
	// Free space inside spans still in use is not counted: a release
	// cannot return it, and counting it would release again and again.
	return heapSample{allocs: v(0), held: v(1) + v(2), live: v(3)}
}

// releaser decides, from samples taken every releaseEvery, when to release.
type releaser struct {
	lastAllocs uint64
	// pagedOut is set once mapped files were paged out in the current
	// quiet spell, and cleared when the daemon works again.
	pagedOut bool
}

// release takes the next sample and reports whether the daemon is quiet
// (allocated little since the last one) while its heap holds much more than
// its live objects, and whether mapped files are to be paged out: at the
// first sample of each quiet spell.
func (r *releaser) release(s heapSample) (heap, files bool) {
	quiet := s.allocs-r.lastAllocs < quietAllocs
	r.lastAllocs = s.allocs
	files = quiet && !r.pagedOut
	r.pagedOut = quiet
	return quiet && s.held > s.live+releaseAbove, files
}

// releaseIdleMemory returns the heap's garbage and free pages to the system
// whenever the daemon is quiet and holds enough of them, and has the pages
// of its mapped files reclaimed once per quiet spell, until ctx ends.
func releaseIdleMemory(ctx context.Context) error {
	samples := make([]metrics.Sample, len(heapMetrics))
	for i, name := range heapMetrics {
		samples[i].Name = name
	}
	r := releaser{lastAllocs: readHeap(samples).allocs}
	t := time.NewTicker(releaseEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		heap, files := r.release(readHeap(samples))
		if heap {
			releaseHeap()
		}
		if files {
			pageOutMappedFiles()
		}
	}
}

// releaseHeap collects twice before returning free pages: the buffers
// pools keep for the next burst of work (gRPC's, NATS's message blocks,
// zap's) survive one collection in the pool's victim cache and are freed
// only by the second.
func releaseHeap() {
	runtime.GC()
	debug.FreeOSMemory()
}
