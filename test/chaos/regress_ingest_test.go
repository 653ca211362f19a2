//go:build chaos

package chaos

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestInterruptedPullIngestExpires interrupts a server-side pull mid-blob
// (the registry stalls until the pull gives up) and never pulls again: the
// partial download stays for a retry to resume, but only until the ingest
// timeout, after which imaged removes it.
func TestInterruptedPullIngestExpires(t *testing.T) {
	const timeout = 6 * time.Second
	r := proxied(t, "BERTH_IMAGED_PULL_PROGRESS_TIMEOUT=2s", "BERTH_IMAGED_INGEST_TIMEOUT="+timeout.String())
	ref, layer := r.pushFresh(4 << 20)
	r.proxy.arm(layer, faultStall)
	if timedOut, err := r.pullWithin("default", ref, stallLimit); timedOut || err == nil {
		t.Fatalf("the stalled pull: timed out %v, error %v; want it to give up with an error", timedOut, err)
	}
	dir := filepath.Join(contentDir(r.st), "ingest")
	pullIngests := func() []string {
		var out []string
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if ingestRef(filepath.Join(dir, e.Name()))[:5] == "pull-" {
				out = append(out, e.Name())
			}
		}
		return out
	}
	if len(pullIngests()) == 0 {
		t.Fatal("the interrupted pull left no partial download to resume")
	}
	var left []string
	if !settles(timeout+30*time.Second, 200*time.Millisecond, func() bool { left = pullIngests(); return len(left) == 0 }) {
		t.Fatalf("partial downloads of an interrupted pull outlived the ingest timeout (%s): %v", timeout, left)
	}
	// A pull after the expiry starts the blob afresh and succeeds.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.serverPull(ctx, "default", ref); err != nil {
		t.Fatalf("pull after the ingest expired: %v", err)
	}
}
