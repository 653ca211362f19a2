package events

import "testing"

func TestSubject(t *testing.T) {
	for _, tc := range []struct{ ns, topic, want string }{
		{"default", TopicTaskExit, "berth.events.default.tasks.exit"},
		{"k8s.io", TopicImageCreate, "berth.events.k8s~io.images.create"},
		{"a_b", TopicTaskExecAdded, "berth.events.a_b.tasks.exec-added"},
	} {
		if got := Subject(tc.ns, tc.topic); got != tc.want {
			t.Errorf("Subject(%q, %q) = %q, want %q", tc.ns, tc.topic, got, tc.want)
		}
	}
	if Subject("a.b", TopicTaskExit) == Subject("a_b", TopicTaskExit) {
		t.Error("namespaces a.b and a_b share a subject")
	}
}

func TestValidTopic(t *testing.T) {
	for topic, ok := range map[string]bool{"/tasks/exit": true, "/x": true, "tasks": false, "/": false, "/a//b": false, "/a.b": false, "/a/*": false, "/a/>": false, "/a b": false} {
		if ValidTopic(topic) != ok {
			t.Errorf("ValidTopic(%q) = %v", topic, !ok)
		}
	}
}
