//go:build integration

package events_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	"github.com/dgraph-io/badger/v4"
	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"berth.dev/pkg/bus"
	"berth.dev/pkg/bus/bustest"
	"berth.dev/pkg/config"
	"berth.dev/pkg/daemon"
	"berth.dev/pkg/events"
	"berth.dev/pkg/store"
)

const testNode = "n1"

type publisher struct {
	db     *badger.DB
	outbox *events.Outbox
	bus    *bus.Bus
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startPublisher(t *testing.T, dir, url string) *publisher {
	return startNodePublisher(t, dir, url, testNode, 1)
}

// startNodePublisher runs an outbox of node publishing to the servers at
// url (comma separated), into the node's stream with replicas copies.
func startNodePublisher(t *testing.T, dir, url, node string, replicas int) *publisher {
	db, err := store.Open(dir, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	ob, err := events.NewOutbox(db, "test", events.WithNode(node))
	if err != nil {
		t.Fatal(err)
	}
	c := config.Common{NATS: config.NATS{NATSURL: url, Replicas: replicas}}
	b, err := bus.Connect(bus.Options{Name: "test", Servers: c.NATSServers(), Stream: daemon.StreamConfig(node, c), ManageStream: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &publisher{db: db, outbox: ob, bus: b, cancel: cancel}
	p.wg.Add(1)
	go func() { defer p.wg.Done(); ob.Run(ctx, b) }()
	return p
}

func (p *publisher) close() {
	p.cancel()
	p.wg.Wait()
	p.bus.Close()
	p.outbox.Close()
	p.db.Close()
}

func (p *publisher) record(t *testing.T, ns, name string) {
	err := p.outbox.Update(context.Background(), func(txn *badger.Txn, rec *events.Recorder) error {
		if err := txn.Set([]byte("rec/"+name), []byte("x")); err != nil {
			return err
		}
		return rec.Add(ns, events.TopicImageCreate, &apievents.ImageCreate{Name: name})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// readAll returns the names of every image event in the stream.
func readAll(t *testing.T, url string) []string {
	envs, subjects := bustest.Envelopes(t, url)
	var names []string
	for i, env := range envs {
		if env.Node != testNode {
			t.Errorf("event of node %q, want %q", env.Node, testNode)
		}
		if want := events.NodeSubject(testNode, env.Namespace, env.Topic); subjects[i] != want {
			t.Errorf("subject %s, want %s", subjects[i], want)
		}
		var ev apievents.ImageCreate
		if err := env.Event.UnmarshalTo(&ev); err != nil {
			t.Fatal(err)
		}
		names = append(names, ev.Name)
	}
	return names
}

func waitDrained(t *testing.T, ob *events.Outbox) {
	deadline := time.Now().Add(15 * time.Second)
	for {
		n, err := ob.Pending()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events still pending", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestEventsSurviveNATSOutageAndRestart(t *testing.T) {
	tmp := t.TempDir()
	ns := bustest.Start(t)
	p := startPublisher(t, filepath.Join(tmp, "db"), ns.URL())
	p.record(t, "k8s.io", "before")
	waitDrained(t, p.outbox)

	// NATS goes down between the write and the read.
	ns.Stop()
	p.record(t, "k8s.io", "during-1")
	p.record(t, "default", "during-2")
	if n, _ := p.outbox.Pending(); n != 2 {
		t.Fatalf("pending while NATS is down = %d, want 2", n)
	}
	ns.Restart()
	waitDrained(t, p.outbox)

	// A daemon restart must not republish delivered events.
	p.close()
	p = startPublisher(t, filepath.Join(tmp, "db"), ns.URL())
	defer p.close()
	p.record(t, "default", "after-restart")
	waitDrained(t, p.outbox)

	got := readAll(t, ns.URL())
	want := []string{"before", "during-1", "during-2", "after-restart"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("stream holds %v, want %v", got, want)
	}
}

func TestRepublishedEventIsDeduplicated(t *testing.T) {
	tmp := t.TempDir()
	ns := bustest.Start(t)
	p := startPublisher(t, filepath.Join(tmp, "db"), ns.URL())
	defer p.close()
	p.record(t, "default", "once")
	waitDrained(t, p.outbox)
	// A crash after the stream acknowledged but before the outbox entry was
	// removed republishes the same message id.
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := nc.JetStream()
	msgs := readRaw(t, js)
	if len(msgs) != 1 {
		t.Fatalf("stream has %d messages, want 1", len(msgs))
	}
	ack, err := js.PublishMsg(msgs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !ack.Duplicate {
		t.Fatal("republished event was not recognised as a duplicate")
	}
	if got := readAll(t, ns.URL()); len(got) != 1 {
		t.Fatalf("stream holds %v after a republish", got)
	}
}

// TestKeyedEventReachesTheStreamOnce records the same change twice under
// one key, as two racing recorders of a task's exit would: the stream
// keeps one of them.
func TestKeyedEventReachesTheStreamOnce(t *testing.T) {
	ns := bustest.Start(t)
	p := startPublisher(t, filepath.Join(t.TempDir(), "db"), ns.URL())
	defer p.close()
	for _, name := range []string{"first", "second"} {
		err := p.outbox.Update(context.Background(), func(_ *badger.Txn, rec *events.Recorder) error {
			return rec.AddKeyed("default", events.TopicImageCreate, "image/one", &apievents.ImageCreate{Name: name})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	p.record(t, "default", "other")
	waitDrained(t, p.outbox)
	if got := readAll(t, ns.URL()); fmt.Sprint(got) != "[first other]" {
		t.Fatalf("stream holds %v, want [first other]", got)
	}
}

func readRaw(t *testing.T, js nats.JetStreamContext) []*nats.Msg {
	sub, err := js.SubscribeSync(events.NodeSubjectAll(testNode), nats.DeliverAll(), nats.OrderedConsumer())
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	var out []*nats.Msg
	for {
		m, err := sub.NextMsg(500 * time.Millisecond)
		if err != nil {
			return out
		}
		out = append(out, &nats.Msg{Subject: m.Subject, Data: m.Data, Header: nats.Header{nats.MsgIdHdr: m.Header.Values(nats.MsgIdHdr)}})
	}
}
