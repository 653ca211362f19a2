//go:build e2e

package e2e

import (
	"fmt"
	"testing"
	"time"

	apievents "github.com/containerd/containerd/api/events"

	"berth.dev/pkg/bus/bustest"
	"berth.dev/pkg/events"

	"berth.dev/test/e2e/harness"
)

// TestEventsSurviveExternalNATSRestart writes while NATS is down and reads
// after it is back: a subscriber that stayed connected to the gateway gets
// every event, once.
func TestEventsSurviveExternalNATSRestart(t *testing.T) {
	ext := bustest.Start(t)
	st := harness.Start(t, harness.WithEnv("BERTH_NATS_URL="+ext.URL()))
	lines := st.Events(t)
	// Wait until the subscription is live.
	waitFor(t, 20*time.Second, func() error {
		st.MustCtr(t, "namespaces", "create", "probe"+fmt.Sprint(time.Now().UnixNano()))
		select {
		case <-lines:
			return nil
		case <-time.After(300 * time.Millisecond):
			return fmt.Errorf("no event yet")
		}
	})

	ext.Stop()
	st.MustCtr(t, "namespaces", "create", "while-down-1")
	st.MustCtr(t, "namespaces", "create", "while-down-2")
	ext.Restart()
	waitLine(t, lines, "/namespaces/create", "while-down-1")
	waitLine(t, lines, "/namespaces/create", "while-down-2")

	// Restarts do not republish what was delivered: the stream holds each
	// event once.
	st.Restart(t, "gateway", false)
	st.MustCtr(t, "namespaces", "create", "after-restart")
	waitFor(t, 20*time.Second, func() error {
		counts := streamCounts(t, ext.URL())
		for _, name := range []string{"while-down-1", "while-down-2", "after-restart"} {
			if counts[name] != 1 {
				return fmt.Errorf("%s is in the stream %d times (%v)", name, counts[name], counts)
			}
		}
		return nil
	})
}

// streamCounts counts the namespace events in the stream by name.
func streamCounts(t *testing.T, url string) map[string]int {
	counts := map[string]int{}
	envs, _ := bustest.Envelopes(t, url)
	for _, env := range envs {
		if env.Topic == events.TopicNamespaceCreate {
			var ev apievents.NamespaceCreate
			if err := env.Event.UnmarshalTo(&ev); err != nil {
				t.Fatal(err)
			}
			counts[ev.Name]++
		}
	}
	return counts
}
