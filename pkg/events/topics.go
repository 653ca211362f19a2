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

const (
	// SubjectRoot prefixes every event subject.
	SubjectRoot = "berth.events"
	// StreamName is the JetStream stream holding every event subject.
	StreamName = "BERTH_EVENTS"
)

// Subject returns the NATS subject of an event: the root, the namespace
// ('.' replaced by '~', which no namespace name may contain) and the topic's
// segments: /tasks/exit in k8s.io is berth.events.k8s~io.tasks.exit.
func Subject(namespace, topic string) string {
	t := strings.ReplaceAll(strings.Trim(topic, "/"), "/", ".")
	return SubjectRoot + "." + strings.ReplaceAll(namespace, ".", "~") + "." + t
}

// SubjectAll matches every event subject.
func SubjectAll() string { return SubjectRoot + ".>" }

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
