//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	eventsapi "github.com/containerd/containerd/api/services/events/v1"
	nsapi "github.com/containerd/containerd/api/services/namespaces/v1"

	"berth.dev/pkg/grpcclient"
	"berth.dev/test/e2e/harness"
)

// BenchmarkEventLatency measures from a daemon's write (a namespace created
// through the gateway's outbox) to a ctr-events-style subscriber receiving
// the event over NATS.
func BenchmarkEventLatency(b *testing.B) {
	st := harness.Start(b)
	cc, err := grpcclient.Dial(st.Socket)
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub, err := eventsapi.NewEventsClient(cc).Subscribe(ctx, &eventsapi.SubscribeRequest{Filters: []string{`topic=="/namespaces/create"`}})
	if err != nil {
		b.Fatal(err)
	}
	received := make(chan time.Time, 1024)
	go func() {
		for {
			if _, err := sub.Recv(); err != nil {
				return
			}
			received <- time.Now()
		}
	}()
	ns := nsapi.NewNamespacesClient(cc)
	create := func(i int) time.Time {
		start := time.Now()
		if _, err := ns.Create(ctx, &nsapi.CreateNamespaceRequest{Namespace: &nsapi.Namespace{Name: fmt.Sprintf("lat%d", i)}}); err != nil {
			b.Fatal(err)
		}
		return start
	}
	// The subscription is live once a first event comes through.
	create(-1)
	select {
	case <-received:
	case <-time.After(20 * time.Second):
		b.Fatal("subscription never delivered")
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := create(i)
		select {
		case at := <-received:
			lat = append(lat, at.Sub(start))
		case <-time.After(20 * time.Second):
			b.Fatal("event lost")
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
