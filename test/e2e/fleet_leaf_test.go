//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"berth.dev/pkg/bus/bustest"
	"berth.dev/test/e2e/harness"
)

// TestLeafNodeKeepsWorkingWithoutItsHub runs a node whose embedded NATS is a
// leaf of a hub: while the link to the hub is cut the node runs containers
// and its own ctr events shows them; when the link is back a fleet
// subscriber on the hub gets every event once.
func TestLeafNodeKeepsWorkingWithoutItsHub(t *testing.T) {
	hub := bustest.StartCluster(t, 1, "hub")
	link := bustest.NewProxy(t, hub.LeafAddrs()[0])
	node := fmt.Sprintf("leaf%d", time.Now().UnixNano()%1e6)
	st := harness.Start(t, harness.WithEnv("BERTH_NODE_ID="+node, "BERTH_NATS_LEAF_URL=nats-leaf://"+link.Addr(), "BERTH_NATS_HUB_DOMAIN=hub"))
	importBusybox(t, st, image)
	lines := st.Events(t)
	fleet := &fleetLog{ids: map[string]int{}, exits: map[string]int{}}
	startFleet(t, hub.URL(), fleet)

	st.MustCtr(t, "run", "--rm", image, node+"-c0", "true")
	fleet.waitExits(t, []string{node}, 1)

	link.Cut()
	st.MustCtr(t, "run", "--rm", image, node+"-c1", "true")
	for {
		l := waitLine(t, lines, "/tasks/exit")
		if strings.Contains(l, `"`+node+`-c1"`) {
			break
		}
	}
	link.Restore()
	// The hub retries its mirror when the leaf connects again, and on a
	// growing backoff (at most 2 minutes) besides.
	start := time.Now()
	fleet.waitExitsWithin(t, []string{node}, 2, 150*time.Second)
	t.Logf("the hub had the events recorded during the cut %v after the link came back", time.Since(start).Round(time.Millisecond))
}
