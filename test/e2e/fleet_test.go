//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"berth.dev/pkg/bus/bustest"
	"berth.dev/pkg/events"
	"berth.dev/test/e2e/harness"
)

// fleetLog is what a fleet subscriber received.
type fleetLog struct {
	mu        sync.Mutex
	ids       map[string]int
	exits     map[string]int // container id -> /tasks/exit events
	latencies []time.Duration
	received  []time.Time
}

func (f *fleetLog) handle(ev events.Event) error {
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids[ev.Id]++
	f.received = append(f.received, now)
	f.latencies = append(f.latencies, now.Sub(ev.Timestamp.AsTime()))
	if ev.Topic == events.TopicTaskExit {
		var exit apievents.TaskExit
		if err := ev.Event.UnmarshalTo(&exit); err == nil && exit.ID == exit.ContainerID {
			f.exits[ev.Node+"/"+exit.ContainerID]++
		}
	}
	return nil
}

// TestFleetOfThreeNodesOnANATSCluster runs three Berth nodes against one
// three-server NATS cluster, runs containers on each while one NATS server
// goes away, and checks that a fleet subscriber gets every node's events
// exactly once and that each node's `ctr events` shows only its own.
func TestFleetOfThreeNodesOnANATSCluster(t *testing.T) {
	const perNode = 8
	c := bustest.StartCluster(t, 3, "")
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1e6)
	var nodes []string
	var stacks []*harness.Stack
	var lines []<-chan string
	for i := 1; i <= 3; i++ {
		node := fmt.Sprintf("fleet%s-n%d", suffix, i)
		st := harness.Start(t, harness.WithEnv("BERTH_NODE_ID="+node, "BERTH_NATS_URL="+c.URL(), "BERTH_NATS_REPLICAS=3"))
		importBusybox(t, st, image)
		nodes, stacks = append(nodes, node), append(stacks, st)
		lines = append(lines, st.Events(t))
	}
	fleet := &fleetLog{ids: map[string]int{}, exits: map[string]int{}}
	startFleet(t, c.URL(), fleet)
	cliExits := startCLIFleet(t, stacks[0], c.URL(), nodes)

	run := func(from, to int) {
		var wg sync.WaitGroup
		for i, st := range stacks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := from; j < to; j++ {
					if _, err := st.Ctr(t, "run", "--rm", image, fmt.Sprintf("%s-c%d", nodes[i], j), "true"); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
	}
	start := time.Now()
	run(0, perNode/2)
	// A server of three goes away: R3 streams keep their quorum and the
	// daemons move to the others.
	c.Servers[0].Stop()
	run(perNode/2, perNode)
	elapsed := time.Since(start)
	c.Servers[0].Restart()

	fleet.waitExits(t, nodes, perNode)
	fleet.report(t, "with a NATS server lost midway", 0, elapsed)

	// The same again with every server up, for the figures, once the
	// restarted server's replicas have caught up.
	waitReplicasCurrent(t, c.URL(), nodes)
	from := fleet.mark()
	start = time.Now()
	run(perNode, 2*perNode)
	elapsed = time.Since(start)
	fleet.waitExits(t, nodes, 2*perNode)
	fleet.report(t, "steady", from, elapsed)

	// The operator's view, `berth events --all-nodes` on one node, saw
	// every node's exits once, through the server loss too.
	cliExits.wait(t, nodes, 2*perNode)

	// Each node's ctr events shows its own containers' exits and nothing
	// of the other nodes.
	for i, node := range nodes {
		seen := map[string]bool{}
		timeout := time.After(30 * time.Second)
		for len(seen) < perNode {
			select {
			case l := <-lines[i]:
				for k, other := range nodes {
					if k != i && strings.Contains(l, other+"-c") {
						t.Fatalf("ctr events of %s shows %s's event: %s", node, other, l)
					}
				}
				if strings.Contains(l, events.TopicTaskExit) {
					for j := 0; j < perNode; j++ {
						if strings.Contains(l, fmt.Sprintf(`"%s-c%d"`, node, j)) {
							seen[fmt.Sprint(j)] = true
						}
					}
				}
			case <-timeout:
				t.Fatalf("ctr events of %s: exits of %d of %d containers", node, len(seen), perNode)
			}
		}
	}
}

// waitExits waits until the fleet saw containers 0..n-1 of every node
// exit once, and no event twice.
func (f *fleetLog) waitExits(t *testing.T, nodes []string, n int) {
	t.Helper()
	f.waitExitsWithin(t, nodes, n, 60*time.Second)
}

func (f *fleetLog) waitExitsWithin(t *testing.T, nodes []string, n int, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, func() error {
		f.mu.Lock()
		defer f.mu.Unlock()
		for id, c := range f.ids {
			if c != 1 {
				t.Fatalf("event %s delivered %d times", id, c)
			}
		}
		for _, node := range nodes {
			for j := 0; j < n; j++ {
				key := fmt.Sprintf("%s/%s-c%d", node, node, j)
				if c := f.exits[key]; c != 1 {
					return fmt.Errorf("%d exit events of %s", c, key)
				}
			}
		}
		return nil
	})
}

func (f *fleetLog) mark() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.latencies)
}

// waitReplicasCurrent waits until every node's stream has all three
// replicas current.
func waitReplicasCurrent(t *testing.T, url string, nodes []string) {
	t.Helper()
	js := clusterJetStream(t, url)
	waitFor(t, 60*time.Second, func() error {
		for _, node := range nodes {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			st, err := js.Stream(ctx, events.NodeStream(node))
			cancel()
			if err != nil {
				return err
			}
			cl := st.CachedInfo().Cluster
			if cl == nil || cl.Leader == "" || len(cl.Replicas) != 2 {
				return fmt.Errorf("stream of %s: %+v", node, cl)
			}
			for _, r := range cl.Replicas {
				if !r.Current || r.Offline {
					return fmt.Errorf("stream of %s: replica %s not current", node, r.Name)
				}
			}
		}
		return nil
	})
}

func startFleet(t *testing.T, url string, f *fleetLog) {
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
	sub, err := events.NewSubscriber(js, events.SubscribeOptions{DeliverAll: true, Rescan: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); sub.Run(ctx, f.handle) }()
	t.Cleanup(func() { cancel(); <-done })
}

// report logs figures for events from index from on; timings are never
// asserted.
func (f *fleetLog) report(t *testing.T, what string, from int, elapsed time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	lat := append([]time.Duration(nil), f.latencies[from:]...)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))].Round(100 * time.Microsecond) }
	span := f.received[len(f.received)-1].Sub(f.received[from])
	t.Logf("fleet, %s: %d events from 3 nodes received over %v (containers ran for %v): %.0f events/s; publish-to-receive latency p50 %v p90 %v p99 %v max %v",
		what, len(lat), span.Round(time.Millisecond), elapsed.Round(time.Millisecond), float64(len(lat))/span.Seconds(),
		pct(0.5), pct(0.9), pct(0.99), lat[len(lat)-1].Round(time.Millisecond))
}

// cliFleet is what `berth events --all-nodes --format json` printed.
type cliFleet struct {
	mu    sync.Mutex
	exits map[string]int // node/container -> exit lines
	bad   []string
}

// startCLIFleet runs `berth events --all-nodes` against the cluster from
// st's node and returns once it reads every node's stream.
func startCLIFleet(t *testing.T, st *harness.Stack, url string, nodes []string) *cliFleet {
	t.Helper()
	js := clusterJetStream(t, url)
	before := consumerCounts(t, js, nodes)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := newCLI(t, st).command(ctx, "events", "--all-nodes", "--nats-url", url, "--format", "json",
		"--filter", fmt.Sprintf("topic==%q", events.TopicTaskExit))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f := &cliFleet{exits: map[string]int{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		dec := json.NewDecoder(stdout)
		for {
			var row struct {
				Node, Topic string
				Event       struct {
					ContainerID string `json:"container_id"`
				}
			}
			if err := dec.Decode(&row); err != nil {
				return
			}
			f.mu.Lock()
			if row.Topic != events.TopicTaskExit || row.Node == "" {
				f.bad = append(f.bad, fmt.Sprintf("%+v", row))
			}
			f.exits[row.Node+"/"+row.Event.ContainerID]++
			f.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		<-done
		if t.Failed() {
			t.Logf("berth events --all-nodes stderr: %s", stderr.String())
		}
	})
	// The CLI's consumers start from the next event: wait until it has
	// one on every node's stream before anything runs.
	waitFor(t, 30*time.Second, func() error {
		now := consumerCounts(t, js, nodes)
		for _, node := range nodes {
			if now[node] <= before[node] {
				return fmt.Errorf("no consumer of berth events on %s's stream yet (stderr: %s)", node, stderr.String())
			}
		}
		return nil
	})
	return f
}

func (f *cliFleet) wait(t *testing.T, nodes []string, n int) {
	t.Helper()
	waitFor(t, 60*time.Second, func() error {
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(f.bad) > 0 {
			t.Fatalf("berth events --all-nodes printed lines outside its filter: %v", f.bad)
		}
		for key, c := range f.exits {
			if c != 1 {
				t.Fatalf("berth events --all-nodes printed the exit of %s %d times", key, c)
			}
		}
		for _, node := range nodes {
			for j := 0; j < n; j++ {
				key := fmt.Sprintf("%s/%s-c%d", node, node, j)
				if f.exits[key] != 1 {
					return fmt.Errorf("berth events --all-nodes: no exit of %s", key)
				}
			}
		}
		return nil
	})
}

// consumerCounts returns the number of consumers on each node's stream.
func consumerCounts(t *testing.T, js jetstream.JetStream, nodes []string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, node := range nodes {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := js.Stream(ctx, events.NodeStream(node))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		out[node] = st.CachedInfo().State.Consumers
	}
	return out
}

// clusterJetStream is JetStream on the test's cluster, closed with the test.
func clusterJetStream(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}
