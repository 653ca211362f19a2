//go:build integration

package events_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"berth.dev/pkg/bus/bustest"
	"berth.dev/pkg/events"
)

// received collects what a subscriber got, by event id.
type received struct {
	mu    sync.Mutex
	count map[string]int
	nodes map[string]int
	names []string
}

func newReceived() *received { return &received{count: map[string]int{}, nodes: map[string]int{}} }

func (r *received) handle(ev events.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.count[ev.Id]++
	r.nodes[ev.Node]++
	var ic apievents.ImageCreate
	if err := ev.Event.UnmarshalTo(&ic); err == nil {
		r.names = append(r.names, ic.Name)
	}
	return nil
}

// check returns an error until r holds want distinct events; duplicates
// are a failure.
func (r *received) check(want int) (done bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, n := range r.count {
		if n != 1 {
			return false, fmt.Errorf("event %s delivered %d times", id, n)
		}
	}
	return len(r.count) >= want, nil
}

func subscribe(t *testing.T, url string, o events.SubscribeOptions) *received {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := events.NewSubscriber(js, o)
	if err != nil {
		t.Fatal(err)
	}
	r := newReceived()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx, r.handle) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

func waitReceived(t *testing.T, r *received, want int, what string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		done, err := r.check(want)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("%s: %d of %d events (%v)", what, len(r.count), want, r.nodes)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFleetOverThreeServerCluster runs three nodes' outboxes against a
// three-server cluster with replicated per-node streams, loses a server
// midway, and checks that a fleet subscriber gets every node's events once,
// a node's subscriber only that node's, and a durable filtered one exactly
// what its filters select.
func TestFleetOverThreeServerCluster(t *testing.T) {
	c := bustest.StartCluster(t, 3, "")
	tmp := t.TempDir()
	nodes := []string{"n1", "n2", "n3"}
	pubs := map[string]*publisher{}
	for _, n := range nodes {
		p := startNodePublisher(t, filepath.Join(tmp, n), c.URL(), n, 3)
		t.Cleanup(p.close)
		pubs[n] = p
	}
	fleet := subscribe(t, c.URL(), events.SubscribeOptions{DeliverAll: true})
	own := subscribe(t, c.URL(), events.SubscribeOptions{Node: "n2", DeliverAll: true})
	durable := subscribe(t, c.URL(), events.SubscribeOptions{
		Node: "n1", Namespace: "k8s.io", Topics: []string{events.TopicImageCreate},
		Filters: []string{`event.name~="^keep"`}, Durable: "test-cri", DeliverAll: true,
	})

	record := func(round string, each int) {
		for i := 0; i < each; i++ {
			for _, n := range nodes {
				ns := "default"
				name := fmt.Sprintf("%s-%s-%d", round, n, i)
				if i%2 == 0 {
					ns, name = "k8s.io", "keep-"+name
				}
				pubs[n].record(t, ns, name)
			}
		}
	}
	record("before", 10)
	waitReceived(t, fleet, 30, "fleet before the outage")

	// One server of three goes away: R3 streams keep a quorum, clients
	// move to the other servers, nothing is lost or doubled.
	c.Servers[1].Stop()
	record("during", 10)
	c.Servers[1].Restart()
	record("after", 10)
	for _, n := range nodes {
		waitDrained(t, pubs[n].outbox)
	}
	waitReceived(t, fleet, 90, "fleet")
	// Events of a node arrive in order: once a last one per node is in, a
	// late duplicate of an earlier one would have shown.
	record("last", 1)
	waitReceived(t, fleet, 93, "fleet")
	waitReceived(t, own, 31, "n2's subscriber")
	waitReceived(t, durable, 16, "durable n1 k8s.io keep-*")

	own.mu.Lock()
	if len(own.nodes) != 1 || own.nodes["n2"] != 31 {
		t.Errorf("n2's subscriber got %v", own.nodes)
	}
	own.mu.Unlock()
	durable.mu.Lock()
	for _, name := range durable.names {
		if !strings.HasPrefix(name, "keep-") || !strings.Contains(name, "-n1-") {
			t.Errorf("durable subscriber got %s", name)
		}
	}
	if len(durable.names) != 16 {
		t.Errorf("durable subscriber got %d events, want 16", len(durable.names))
	}
	durable.mu.Unlock()
	fleet.mu.Lock()
	for _, n := range nodes {
		if fleet.nodes[n] != 31 {
			t.Errorf("fleet got %d events of %s, want 31 (%v)", fleet.nodes[n], n, fleet.nodes)
		}
	}
	fleet.mu.Unlock()

	// For the record, not asserted: how fast the fleet subscriber takes in
	// events three nodes record as fast as they can, one per transaction.
	const burst = 500
	start := time.Now()
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < burst; i++ {
				pubs[n].record(t, "default", fmt.Sprintf("burst-%s-%d", n, i))
			}
		}()
	}
	wg.Wait()
	recorded := time.Since(start)
	waitReceived(t, fleet, 93+3*burst, "fleet burst")
	took := time.Since(start)
	t.Logf("burst: 3 nodes recorded %d events in %v; the fleet subscriber had them all after %v: %.0f events/s",
		3*burst, recorded.Round(time.Millisecond), took.Round(time.Millisecond), float64(3*burst)/took.Seconds())
}
