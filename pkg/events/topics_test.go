package events

import "testing"

func TestNodeSubject(t *testing.T) {
	for _, tc := range []struct{ node, ns, topic, want string }{
		{"n1", "default", TopicTaskExit, "berth.n1.events.default.tasks.exit"},
		{"n1", "k8s.io", TopicImageCreate, "berth.n1.events.k8s~io.images.create"},
		{"node-2", "a_b", TopicTaskExecAdded, "berth.node-2.events.a_b.tasks.exec-added"},
	} {
		if got := NodeSubject(tc.node, tc.ns, tc.topic); got != tc.want {
			t.Errorf("NodeSubject(%q, %q, %q) = %q, want %q", tc.node, tc.ns, tc.topic, got, tc.want)
		}
	}
	if NodeSubject("n", "a.b", TopicTaskExit) == NodeSubject("n", "a_b", TopicTaskExit) {
		t.Error("namespaces a.b and a_b share a subject")
	}
}

func TestSubjectFilter(t *testing.T) {
	for _, tc := range []struct{ node, ns, topic, want string }{
		{"n1", "k8s.io", TopicTaskExit, "berth.n1.events.k8s~io.tasks.exit"},
		{"", "k8s.io", TopicTaskOOM, "berth.*.events.k8s~io.tasks.oom"},
		{"n1", "", "", "berth.n1.events.*.>"},
		{AnyNode, "", TopicTaskExit, "berth.*.events.*.tasks.exit"},
	} {
		if got := SubjectFilter(tc.node, tc.ns, tc.topic); got != tc.want {
			t.Errorf("SubjectFilter(%q, %q, %q) = %q, want %q", tc.node, tc.ns, tc.topic, got, tc.want)
		}
	}
	if got := SubjectFilters("n1", "k8s.io", TopicTaskExit, TopicTaskOOM); len(got) != 2 || got[1] != "berth.n1.events.k8s~io.tasks.oom" {
		t.Errorf("SubjectFilters = %q", got)
	}
	if got := NodeSubjectAll("n1"); got != "berth.n1.events.>" {
		t.Errorf("NodeSubjectAll = %q", got)
	}
	if got := Subject("default", TopicTaskExit); got != "berth.*.events.default.tasks.exit" {
		t.Errorf("Subject = %q", got)
	}
	if got := NodeStream("n1"); got != "BERTH_EVENTS_n1" {
		t.Errorf("NodeStream = %q", got)
	}
}

func TestValidTopic(t *testing.T) {
	for topic, ok := range map[string]bool{"/tasks/exit": true, "/x": true, "tasks": false, "/": false, "/a//b": false, "/a.b": false, "/a/*": false, "/a/>": false, "/a b": false} {
		if ValidTopic(topic) != ok {
			t.Errorf("ValidTopic(%q) = %v", topic, !ok)
		}
	}
}
