package router

import (
	"hash"
	"time"

	"berth.dev/pkg/imagedclient"
)

// Writes are reported to imaged with the hash once this much was hashed
// or this long passed since the last report (which keeps the ingest from
// expiring during a slow upload), and before every operation imaged
// answers.
const (
	reportBytes    = 32 << 20
	reportInterval = time.Second
)

// hasher hashes an ingest's writes on a goroutine of its own and reports
// them to imaged with the hash. The client waits for each WRITE's answer
// before it sends the next: the answer goes once the data is in the file,
// and the client's next message is received and written while the last
// one is hashed, as when imaged did the hashing.
type hasher struct {
	in     *imagedclient.Ingest
	jobs   chan hashJob
	exited chan struct{}
}

// hashJob is one of: data written (hashed, then its buffers freed), a
// truncation (the hash starts over), or a sync (report what was hashed,
// then answer).
type hashJob struct {
	m     *writeMessage
	n     int
	reset bool
	sync  chan error
}

// newHasher goes on from h, the hash of the data the ingest was opened with.
func newHasher(in *imagedclient.Ingest, h hash.Hash) *hasher {
	x := &hasher{in: in, jobs: make(chan hashJob, 4), exited: make(chan struct{})}
	go x.run(h)
	return x
}

func (x *hasher) run(h hash.Hash) {
	defer close(x.exited)
	var unreported int64
	reported := time.Now()
	var err error
	report := func() {
		if unreported > 0 && err == nil {
			err = x.in.WroteHashed(unreported, h)
		}
		unreported, reported = 0, time.Now()
	}
	for j := range x.jobs {
		switch {
		case j.m != nil:
			hashPrefix(h, j.m.data, j.n)
			j.m.free()
			unreported += int64(j.n)
			if unreported >= reportBytes || time.Since(reported) >= reportInterval {
				report()
			}
		case j.reset:
			h.Reset()
			unreported = 0
		case j.sync != nil:
			report()
			j.sync <- err
		}
	}
}

// add takes the first n bytes of m's data, written at the ingest's offset;
// m's buffers are the hasher's from now on (m.free does nothing).
func (x *hasher) add(m *writeMessage, n int) {
	x.jobs <- hashJob{m: &writeMessage{data: m.data, f: m.f}, n: n}
	m.f = nil
}

// sync returns once everything added was hashed and reported.
func (x *hasher) sync() error {
	c := make(chan error, 1)
	x.jobs <- hashJob{sync: c}
	return <-c
}

// reset starts the hash over, after imaged truncated the ingest.
func (x *hasher) reset() { x.jobs <- hashJob{reset: true} }

// close ends the goroutine once it has hashed what it was given.
func (x *hasher) close() {
	close(x.jobs)
	<-x.exited
}

// hashPrefix hashes the first n bytes of bufs: what a write put in the file.
func hashPrefix(h hash.Hash, bufs [][]byte, n int) {
	for _, b := range bufs {
		if n <= 0 {
			return
		}
		b = b[:min(len(b), n)]
		h.Write(b)
		n -= len(b)
	}
}
