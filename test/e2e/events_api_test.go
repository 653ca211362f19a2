//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
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

// TestSubscribeTaskTopicsOnly subscribes as containerd's clients do for task
// events, with a |...| quoted expression, runs a container and creates a
// namespace, and checks that only task events arrive.
func TestSubscribeTaskTopicsOnly(t *testing.T) {
	st := harness.Start(t)
	importBusybox(t, st, image)
	cc, err := grpcclient.Dial(st.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := eventsapi.NewEventsClient(cc)
	ctx, cancel := context.WithTimeout(namespace.WithNamespace(context.Background(), "sub"), time.Minute)
	defer cancel()
	sub, err := client.Subscribe(ctx, &eventsapi.SubscribeRequest{Filters: []string{`topic~=|^/tasks/|`}})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 100)
	go func() {
		for {
			env, err := sub.Recv()
			if err != nil {
				close(got)
				return
			}
			got <- env.Topic
		}
	}()
	marker, _ := typeurl.MarshalAnyToProto(&apievents.TaskOOM{ContainerID: "marker"})
	// waitMarker publishes a /tasks/ marker until it arrives, and returns the
	// topics that came before it.
	waitMarker := func(topic string) []string {
		var seen []string
		deadline := time.After(30 * time.Second)
		for {
			if _, err := client.Publish(ctx, &eventsapi.PublishRequest{Topic: topic, Event: marker}); err != nil {
				t.Fatal(err)
			}
			for wait := time.After(200 * time.Millisecond); ; {
				select {
				case tp, ok := <-got:
					if !ok {
						t.Fatal("subscription ended")
					}
					if tp == topic {
						return seen
					}
					seen = append(seen, tp)
					continue
				case <-wait:
				case <-deadline:
					t.Fatalf("marker %s never arrived; saw %q", topic, seen)
				}
				break
			}
		}
	}
	waitMarker("/tasks/sync")
	// An unfiltered subscription shows when the namespace event is on the
	// bus; the task events come from taskd's outbox, which may publish them
	// after ctr has returned.
	all, err := client.Subscribe(ctx, &eventsapi.SubscribeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("sub-%d", time.Now().UnixNano())
	st.MustCtr(t, "run", "--rm", image, id, "true")
	st.MustCtr(t, "namespaces", "create", id)
	for {
		env, err := all.Recv()
		if err != nil {
			t.Fatalf("the unfiltered subscription ended before /namespaces/create: %v", err)
		}
		if env.Topic == "/namespaces/create" {
			break
		}
	}
	want := []string{"/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"}
	var seen []string
	for deadline := time.After(30 * time.Second); !containsAll(seen, want); {
		select {
		case tp, ok := <-got:
			if !ok {
				t.Fatal("subscription ended")
			}
			seen = append(seen, tp)
		case <-deadline:
			t.Fatalf("task events missing; got %q", seen)
		}
	}
	// The namespace event is on the bus before this marker: a filter that
	// let it through would deliver it first.
	seen = append(seen, waitMarker("/tasks/end")...)
	for _, tp := range seen {
		if !strings.HasPrefix(tp, "/tasks/") {
			t.Errorf("a |^/tasks/| subscription received %s", tp)
		}
	}
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
