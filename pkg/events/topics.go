package events

import "strings"

// containerd's topic names, which clients filter on.
const (
	TopicNamespaceCreate = "/namespaces/create"
	TopicNamespaceUpdate = "/namespaces/update"
	TopicNamespaceDelete = "/namespaces/delete"

	TopicImageCreate = "/images/create"
	TopicImageUpdate = "/images/update"
	TopicImageDelete = "/images/delete"

	TopicContentCreate = "/content/create"
	TopicContentDelete = "/content/delete"

	TopicSnapshotPrepare = "/snapshot/prepare"
	TopicSnapshotCommit  = "/snapshot/commit"
	TopicSnapshotRemove  = "/snapshot/remove"

	TopicContainerCreate = "/containers/create"
	TopicContainerUpdate = "/containers/update"
	TopicContainerDelete = "/containers/delete"

	TopicTaskCreate       = "/tasks/create"
	TopicTaskStart        = "/tasks/start"
	TopicTaskExit         = "/tasks/exit"
	TopicTaskOOM          = "/tasks/oom"
	TopicTaskExecAdded    = "/tasks/exec-added"
	TopicTaskExecStarted  = "/tasks/exec-started"
	TopicTaskPaused       = "/tasks/paused"
	TopicTaskResumed      = "/tasks/resumed"
	TopicTaskDelete       = "/tasks/delete"
	TopicTaskIO           = "/tasks/io"
	TopicTaskCheckpointed = "/tasks/checkpointed"
)

// Subjects are versioned public contract (docs/architecture.md, "Event
// subjects v1"): berth.<node>.events.<namespace>.<topic segments>, with a
// '.' in the namespace written '~' (never valid in a namespace name), e.g.
// /tasks/exit in k8s.io on node n1 is berth.n1.events.k8s~io.tasks.exit.
const (
	// SubjectRoot is the first token of every event subject.
	SubjectRoot = "berth"
	// StreamName prefixes the name of each node's stream: BERTH_EVENTS_<node>
	// (see NodeStream).
	StreamName = "BERTH_EVENTS"
	// AnyNode, as a node id in a filter, matches every node.
	AnyNode = "*"
)

// NodeSubject returns the subject an event of node is published on.
func NodeSubject(node, namespace, topic string) string {
	t := strings.ReplaceAll(strings.Trim(topic, "/"), "/", ".")
	return nodePrefix(node) + "." + namespaceToken(namespace) + "." + t
}

// SubjectFilter returns the subject filter for events of node (AnyNode or
// "" for every node) in namespace ("" for any) on topic ("" for any; a
// topic matches itself only, /tasks matches none of /tasks/exit). The CRI's
// consumer of this node's exits, for one, filters on
// SubjectFilter(node, "k8s.io", TopicTaskExit).
func SubjectFilter(node, namespace, topic string) string {
	if node == "" {
		node = AnyNode
	}
	ns := "*"
	if namespace != "" {
		ns = namespaceToken(namespace)
	}
	t := ">"
	if topic != "" {
		t = strings.ReplaceAll(strings.Trim(topic, "/"), "/", ".")
	}
	return nodePrefix(node) + "." + ns + "." + t
}

// SubjectFilters is SubjectFilter for each of topics (all topics when
// none): the filter subjects of a consumer of several topics, e.g. the
// CRI's SubjectFilters(node, "k8s.io", TopicTaskExit, TopicTaskOOM).
func SubjectFilters(node, namespace string, topics ...string) []string {
	if len(topics) == 0 {
		return []string{SubjectFilter(node, namespace, "")}
	}
	out := make([]string, 0, len(topics))
	for _, t := range topics {
		out = append(out, SubjectFilter(node, namespace, t))
	}
	return out
}

// NodeSubjectAll matches every event of node (AnyNode: of every node).
func NodeSubjectAll(node string) string { return nodePrefix(node) + ".>" }

func nodePrefix(node string) string { return SubjectRoot + "." + node + ".events" }

// NodeStream names the JetStream stream holding node's events. Each node
// has its own (docs/architecture.md says why).
func NodeStream(node string) string { return StreamName + "_" + node }

// Subject is SubjectFilter(AnyNode, namespace, topic): the subject of an
// event in namespace on topic, on whichever node.
//
// Deprecated: events are per node; publish on NodeSubject and filter with
// SubjectFilter.
func Subject(namespace, topic string) string { return SubjectFilter(AnyNode, namespace, topic) }

// SubjectAll matches every event subject of every node.
func SubjectAll() string { return SubjectFilter(AnyNode, "", "") }

func namespaceToken(namespace string) string { return strings.ReplaceAll(namespace, ".", "~") }

// ValidTopic reports whether topic has containerd's form: '/'-separated
// non-empty segments without NATS wildcards or whitespace.
func ValidTopic(topic string) bool {
	if !strings.HasPrefix(topic, "/") || len(topic) < 2 {
		return false
	}
	for _, seg := range strings.Split(topic[1:], "/") {
		if seg == "" || strings.ContainsAny(seg, ".*> \t\r\n") {
			return false
		}
	}
	return true
}
