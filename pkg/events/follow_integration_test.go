//go:build integration

package events_test

import (
	"context"
	"testing"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	"github.com/containerd/errdefs"

	"berth.dev/pkg/bus"
	"berth.dev/pkg/bus/bustest"
	"berth.dev/pkg/config"
	"berth.dev/pkg/daemon"
	"berth.dev/pkg/events"
)

// Follow starts before NATS is up and before the node's stream exists,
// as a daemon may: once both are there, the events reach the handler.
func TestFollowWaitsForNATSAndTheStream(t *testing.T) {
	srv := bustest.Start(t)
	srv.Stop()
	c := config.Common{NATS: config.NATS{NATSURL: srv.URL()}}
	b, err := bus.Connect(bus.Options{Name: "follower", Servers: c.NATSServers(), Stream: daemon.StreamConfig(testNode, c)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan string, 1)
	errs := make(chan error, 16)
	done := make(chan error, 1)
	go func() {
		done <- events.Follow(ctx, b, events.SubscribeOptions{Node: testNode, DeliverAll: true,
			OnError: func(_ string, err error) {
				select {
				case errs <- err:
				default:
				}
			}}, func(ev events.Event) error {
			var img apievents.ImageCreate
			if err := ev.Event.UnmarshalTo(&img); err != nil {
				return err
			}
			select {
			case got <- img.Name:
			default:
			}
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Follow ended with %v", err)
		}
	})
	select {
	case <-errs:
	case <-time.After(30 * time.Second):
		t.Fatal("no error reported while NATS was away")
	}
	srv.Restart()
	p := startPublisher(t, t.TempDir(), srv.URL())
	t.Cleanup(p.close)
	p.record(t, "default", "followed")
	select {
	case name := <-got:
		if name != "followed" {
			t.Fatalf("followed image %q, want followed", name)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the event recorded once NATS and the stream were there never reached the handler")
	}
}

// Options a Subscriber refuses end Follow at once, NATS or not.
func TestFollowRefusesBadOptions(t *testing.T) {
	b, err := bus.Connect(bus.Options{Name: "follower", Servers: []string{"nats://127.0.0.1:1"}, Stream: daemon.StreamConfig(testNode, config.Common{})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	err = events.Follow(context.Background(), b, events.SubscribeOptions{Node: "not a token"}, func(events.Event) error { return nil })
	if !errdefs.IsInvalidArgument(err) {
		t.Fatalf("Follow with a node that is not a subject token: %v, want invalid argument", err)
	}
}
