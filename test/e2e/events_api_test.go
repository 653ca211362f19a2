//go:build e2e

package e2e

import (
	"context"
	"testing"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	eventsapi "github.com/containerd/containerd/api/services/events/v1"
	"github.com/containerd/containerd/api/types"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"
	"google.golang.org/protobuf/types/known/timestamppb"

	"berth.dev/pkg/grpcclient"
	"berth.dev/pkg/namespace"
	"berth.dev/test/e2e/harness"
)

// TestPublishAndForward publishes and forwards events through the
// containerd events API and reads them back with a filter.
func TestPublishAndForward(t *testing.T) {
	st := harness.Start(t)
	cc, err := grpcclient.Dial(st.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := eventsapi.NewEventsClient(cc)
	ctx, cancel := context.WithTimeout(namespace.WithNamespace(context.Background(), "pub"), 30*time.Second)
	defer cancel()
	sub, err := client.Subscribe(ctx, &eventsapi.SubscribeRequest{Filters: []string{`topic~="^/custom/"`}})
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := typeurl.MarshalAnyToProto(&apievents.ImageCreate{Name: "published"})
	forwarded, _ := typeurl.MarshalAnyToProto(&apievents.ImageCreate{Name: "forwarded"})
	got := make(chan *types.Envelope, 10)
	go func() {
		for {
			env, err := sub.Recv()
			if err != nil {
				return
			}
			got <- env
		}
	}()
	// The subscription is asynchronous: publish until the first arrives.
	deadline := time.After(20 * time.Second)
	for first := true; first; {
		if _, err := client.Publish(ctx, &eventsapi.PublishRequest{Topic: "/custom/one", Event: payload}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got:
			first = false
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			t.Fatal("published event never arrived")
		}
	}
	_, err = client.Forward(ctx, &eventsapi.ForwardRequest{Envelope: &types.Envelope{
		Timestamp: timestamppb.Now(), Namespace: "elsewhere", Topic: "/custom/two", Event: forwarded}})
	if err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case env := <-got:
			if env.Topic != "/custom/two" {
				continue
			}
			var ev apievents.ImageCreate
			if env.Namespace != "elsewhere" || env.Event.UnmarshalTo(&ev) != nil || ev.Name != "forwarded" {
				t.Fatalf("forwarded envelope %v", env)
			}
			// Bad input: a topic that is not /-separated words.
			if _, err := client.Publish(ctx, &eventsapi.PublishRequest{Topic: "no-slash", Event: payload}); !errdefs.IsInvalidArgument(err) {
				t.Fatalf("bad topic: %v", err)
			}
			return
		case <-deadline:
			t.Fatal("forwarded event never arrived")
		}
	}
}
