//go:build integration

package events_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"berth.dev/pkg/bus/bustest"
	"berth.dev/pkg/events"
)

// A subscriber rescans the streams while its consumers run: the gateway's
// fan-out four times a second for as long as it runs. Each rescan once
// left a goroutine behind per ordered consumer; a hundred rescans must
// leave the process's goroutines as they were.
func TestSubscriberRescansWithoutGrowing(t *testing.T) {
	srv := bustest.Start(t)
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := js.CreateStream(ctx, events.NodeStreamConfig(testNode, events.Limits{})); err != nil {
		t.Fatal(err)
	}
	// Every node's streams: each rescan then lists them, one JetStream
	// API request the server counts.
	sub, err := events.NewSubscriber(js, events.SubscribeOptions{Rescan: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sub.Run(runCtx, func(events.Event) error { return nil }) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run ended with %v", err)
		}
	})
	apiCalls := func() uint64 {
		info, err := js.AccountInfo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.API.Total
	}
	waitCalls := func(n uint64) {
		t.Helper()
		for start := apiCalls(); apiCalls() < start+n; {
			if ctx.Err() != nil {
				t.Fatalf("fewer than %d rescans before the deadline", n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitCalls(10) // the consumer is running
	before := runtime.NumGoroutine()
	// Each rescan is one request; each AccountInfo another.
	waitCalls(200)
	if after := runtime.NumGoroutine(); after > before+20 {
		t.Fatalf("goroutines went from %d to %d over about a hundred rescans", before, after)
	}
}
