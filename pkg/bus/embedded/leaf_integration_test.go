//go:build integration

package embedded_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	"github.com/dgraph-io/badger/v4"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"berth.dev/pkg/bus"
	"berth.dev/pkg/bus/bustest"
	"berth.dev/pkg/bus/embedded"
	"berth.dev/pkg/config"
	"berth.dev/pkg/daemon"
	"berth.dev/pkg/events"
	"berth.dev/pkg/store"
)

// TestLeafNodeKeepsEventsWhileTheHubIsAway runs a node's embedded NATS as a
// leaf of a hub, records events while the hub is down, and checks that a
// fleet subscriber on the hub gets every one, once, when it is back.
func TestLeafNodeKeepsEventsWhileTheHubIsAway(t *testing.T) {
	hub := bustest.StartCluster(t, 1, "hub")
	dir := t.TempDir()
	const leaf = "leaf1"
	common := config.Common{State: filepath.Join(dir, "state"), NATS: config.NATS{NodeID: leaf, LeafURL: hub.LeafURL(), HubDomain: "hub"}}
	cfg, err := embedded.ConfigFrom(common, filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := embedded.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)

	// The node's gateway publishes through its outbox.
	db, err := store.Open(filepath.Join(dir, "db"), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ob, err := events.NewOutbox(db, "gateway", events.WithNode(leaf))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ob.Close() })
	b, err := bus.Connect(daemon.BusOptions(bus.UserGateway, leaf, common, nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); ob.Run(ctx, b) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	record := func(name string) {
		err := ob.Update(context.Background(), func(_ *badger.Txn, rec *events.Recorder) error {
			return rec.Add("default", events.TopicNamespaceCreate, &apievents.NamespaceCreate{Name: name})
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	fleet := newFleet(t, hub.URL())
	for i := 0; i < 5; i++ {
		record(fmt.Sprintf("before-%d", i))
	}
	fleet.wait(t, 5)

	hub.Servers[0].Stop()
	for i := 0; i < 5; i++ {
		record(fmt.Sprintf("cut-%d", i))
	}
	// The node keeps working: its own stream takes the events.
	waitPending(t, ob)
	hub.Servers[0].Restart()
	hub.WaitReady(t)
	// The hub's mirror retries with a growing backoff (NATS': 10s a
	// failure, at most 2 min), so catching up takes a while.
	fleet.wait(t, 10)
	record("last")
	fleet.wait(t, 11)
}

type fleetReader struct {
	mu    sync.Mutex
	seen  map[string]int
	names []string
}

func newFleet(t *testing.T, url string) *fleetReader {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond), nats.RetryOnFailedConnect(true))
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
	f := &fleetReader{seen: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		sub.Run(ctx, func(ev events.Event) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.seen[ev.Id]++
			var nc apievents.NamespaceCreate
			if ev.Event.UnmarshalTo(&nc) == nil {
				f.names = append(f.names, ev.Node+"/"+nc.Name)
			}
			return nil
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	return f
}

func (f *fleetReader) wait(t *testing.T, want int) {
	t.Helper()
	defer func(start time.Time) { t.Logf("%d events after %v", want, time.Since(start)) }(time.Now())
	deadline := time.Now().Add(150 * time.Second)
	for {
		f.mu.Lock()
		n := len(f.seen)
		for id, c := range f.seen {
			if c != 1 {
				f.mu.Unlock()
				t.Fatalf("event %s delivered %d times", id, c)
			}
		}
		names := strings.Join(f.names, " ")
		f.mu.Unlock()
		if n >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("hub has %d of %d events: %s", n, want, names)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitPending(t *testing.T, ob *events.Outbox) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := ob.Pending()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events not taken by the leaf's own stream while the hub is away", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
