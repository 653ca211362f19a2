//go:build chaos

package chaos

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"

	"berth.dev/pkg/bus/bustest"
	"berth.dev/test/e2e/harness"
)

// contentFS is the size of the tmpfs holding imaged's content store: room
// for the run's images, small enough to fill in a moment.
const contentFS = 96 << 20

// orphanGrace is how long imaged keeps the lease of a client that went
// away; shorter than settle, so that a check sees it ended.
const orphanGrace = 4 * time.Second

// ingestTimeout is how long imaged keeps an ingest nothing writes to (a
// partial download its pull left for a retry to resume): past the
// progress timeout, so that a stalled pull's writer does not expire under
// it, and short enough for the end of a run to see such ingests go.
const ingestTimeout = 20 * time.Second

// ingestSlack is how long after its timeout an ingest may still be seen:
// imaged looks every quarter of the timeout.
const ingestSlack = ingestTimeout/4 + 2*time.Second

// run is one chaos run: a stack, its registry behind a fault proxy, the
// load's clients and what they expect to see.
type run struct {
	t     *testing.T
	st    *harness.Stack
	rng   *rand.Rand // the fault schedule's; only the main goroutine uses it
	seed  int64
	stats *stats
	// gate lets operations run (read side) and stops them for invariant
	// checks (write side).
	gate   sync.RWMutex
	client *containerd.Client
	berth  *grpc.ClientConn
	reg    string
	proxy  *faultProxy
	nats   *bustest.Server // nil with the embedded server
	// namespaces the load spreads over.
	namespaces []string
	busybox    string   // runnable image, through the proxy
	randoms    []string // pull-only images, through the proxy
	fresh      int      // images pushed for faults so far
	ledger     *ledger
	events     *eventLog
	runners    *runners
	// leakedAt remembers after which fault a leaked task was first seen.
	leakedAt map[string]string
	// phaseV is what the last fault was, for violation reports.
	phaseV atomic.Value
}

func newRun(t *testing.T, seed int64) *run {
	r := &run{t: t, seed: seed, rng: rand.New(rand.NewSource(seed)), stats: newStats(), ledger: newLedger(), runners: &runners{}}
	suffix := fmt.Sprintf("%04x", seed&0xffff)
	// cgroup paths are global, so namespaces carry the run's suffix.
	for _, n := range []string{"a", "b", "c"} {
		r.namespaces = append(r.namespaces, "chaos"+suffix+"-"+n)
	}
	r.reg = harness.Registry(t)
	r.proxy = startProxy(t, r.reg)
	harness.Push(t, r.reg+"/chaos/busybox:1", harness.BusyboxImage(t))
	r.busybox = r.proxy.addr + "/chaos/busybox:1"
	rrng := rand.New(rand.NewSource(seed))
	for i := 0; i < 3; i++ {
		img, err := random.Image(1<<20+rrng.Int63n(1<<20), 2)
		if err != nil {
			t.Fatal(err)
		}
		harness.Push(t, fmt.Sprintf("%s/chaos/random:%d", r.reg, i), img)
		r.randoms = append(r.randoms, fmt.Sprintf("%s/chaos/random:%d", r.proxy.addr, i))
	}
	opts := []harness.Option{harness.WithEnv("BERTH_REGISTRY_CONFIG_PATH="+hostsDir(t, r.proxy.addr),
		// Leases of clients a fault cut off end within a check's settle time.
		"BERTH_IMAGED_ORPHAN_LEASE_GRACE="+orphanGrace.String(),
		// Partial downloads kept for a resume go within the run.
		"BERTH_IMAGED_INGEST_TIMEOUT="+ingestTimeout.String(),
		// A stalled registry fails the pull well within stallLimit.
		"BERTH_IMAGED_PULL_PROGRESS_TIMEOUT="+progressTimeout.String())}
	switch *natsFlag {
	case "external":
		r.nats = bustest.Start(t)
		opts = append(opts, harness.WithEnv("BERTH_NATS_URL="+r.nats.URL()))
	case "embedded":
	default:
		t.Fatalf("-nats %q: external or embedded", *natsFlag)
	}
	var mountErr error
	opts = append(opts, func(s *harness.Stack) { mountErr = mountContentFS(s) })
	r.st = harness.Start(t, opts...)
	if mountErr != nil {
		t.Fatalf("content tmpfs: %v", mountErr)
	}
	r.client = newClient(t, r.st)
	r.berth = berthConn(t, r.st)
	r.events = newEventLog(r)
	r.phaseV.Store("start")
	return r
}

// mountContentFS puts imaged's content store on a small tmpfs before imaged
// starts, so that a fault can fill it.
func mountContentFS(s *harness.Stack) error {
	dir := contentDir(s)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return unix.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", contentFS))
}

func contentDir(s *harness.Stack) string { return filepath.Join(s.Root, "imaged", "content") }

// pushFresh pushes a new single-layer image of about size bytes straight to
// the registry and returns its reference through the proxy and its layer's
// digest.
func (r *run) pushFresh(size int64) (string, string) {
	r.fresh++
	img, err := random.Image(size, 1)
	if err != nil {
		r.t.Fatal(err)
	}
	harness.Push(r.t, fmt.Sprintf("%s/chaos/fresh:%d", r.reg, r.fresh), img)
	layers, _ := img.Layers()
	d, _ := layers[0].Digest()
	return fmt.Sprintf("%s/chaos/fresh:%d", r.proxy.addr, r.fresh), d.String()
}

// phase names the last fault (or start, end), for violation reports.
func (r *run) phase() string {
	p, _ := r.phaseV.Load().(string)
	return p
}
