package events

import (
	"errors"
	"testing"

	"github.com/containerd/errdefs"
	"google.golang.org/protobuf/types/known/anypb"

	eventsv1 "berth.dev/proto/berth/events/v1"
)

func TestNewSubscriberRejectsBadOptions(t *testing.T) {
	for _, o := range []SubscribeOptions{
		{Node: "a.b"},
		{Node: "n1", Durable: "x y"},
		{Topics: []string{"tasks/exit"}},
		{Filters: []string{"topic=="}},
	} {
		if _, err := NewSubscriber(nil, o); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("NewSubscriber(%+v) = %v, want invalid argument", o, err)
		}
	}
}

func TestSubscriberSubjects(t *testing.T) {
	s, err := NewSubscriber(nil, SubscribeOptions{Node: "n1", Namespace: "k8s.io", Topics: []string{TopicTaskExit, TopicTaskOOM}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"berth.n1.events.k8s~io.tasks.exit", "berth.n1.events.k8s~io.tasks.oom"}
	if len(s.subjects) != 2 || s.subjects[0] != want[0] || s.subjects[1] != want[1] {
		t.Fatalf("subjects %v, want %v", s.subjects, want)
	}
	all, _ := NewSubscriber(nil, SubscribeOptions{})
	if len(all.subjects) != 1 || all.subjects[0] != "berth.*.events.*.>" {
		t.Fatalf("subjects of a fleet subscriber: %v", all.subjects)
	}
}

func TestFields(t *testing.T) {
	env := &eventsv1.Envelope{Node: "n1", Namespace: "default", Topic: TopicTaskExit, Source: "taskd", Event: &anypb.Any{}}
	for path, want := range map[string]string{"node": "n1", "namespace": "default", "topic": TopicTaskExit, "source": "taskd"} {
		if got, ok := Fields(env).Field([]string{path}); !ok || got != want {
			t.Errorf("field %s = %q %v, want %q", path, got, ok, want)
		}
	}
	if _, ok := Fields(env).Field([]string{"nope"}); ok {
		t.Error("unknown field found")
	}
}
