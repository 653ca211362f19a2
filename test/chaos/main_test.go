//go:build chaos

package chaos

import (
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"berth.dev/test/e2e/harness"
)

var (
	seedFlag     = flag.Int64("seed", 0, "seed of every random choice (0 picks one from the clock; the run prints it)")
	durationFlag = flag.Duration("duration", time.Minute, "how long the load and the faults run")
	clientsFlag  = flag.Int("clients", 3, "clients running operations at once")
	natsFlag     = flag.String("nats", "external", "NATS the stack uses: external (a server the test stops and restarts) or embedded (the gateway's)")
	faultEvery   = flag.Duration("fault-every", 6*time.Second, "mean time between faults")
	faultsFlag   = flag.String("faults", "", "comma-separated faults to inject (default: all)")
)

func TestMain(m *testing.M) { os.Exit(harness.Main(m)) }

// TestChaos runs the load and the faults for -duration and fails on any
// invariant violation that is not a known, routed defect.
func TestChaos(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	fmt.Printf("chaos: seed %d (rerun with -seed %d), duration %s, %d clients, nats %s\n", seed, seed, *durationFlag, *clientsFlag, *natsFlag)
	r := newRun(t, seed)
	r.loop(*durationFlag)
	r.finish()
	fmt.Print(r.stats.report(seed))
	if n := r.stats.unknownViolations(); n > 0 {
		t.Errorf("%d invariant violations (seed %d)", n, seed)
	}
}
