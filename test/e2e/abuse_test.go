//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"

	"berth.dev/test/e2e/harness"
)

// rssKiB is a process's resident set in KiB.
func rssKiB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestAPIAbuseIsBounded sends a hostile client's requests through the node
// socket: oversized labels, label floods, filters with thousands of terms,
// content writes opened and never finished, and thousands of leases. Each
// gets its errdefs error or stays within a bound, and imaged's memory
// stays modest.
func TestAPIAbuseIsBounded(t *testing.T) {
	st := harness.Start(t)
	client, err := containerd.New(st.Socket, containerd.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	ctx := namespaces.WithNamespace(context.Background(), "abuse-"+randomHex(t, 6))
	before := rssKiB(t, st.Pid("imaged"))
	lm := client.LeasesService()

	huge := map[string]string{"k": strings.Repeat("v", 5000)}
	if _, err := lm.Create(ctx, leases.WithRandomID(), leases.WithLabels(huge)); !errdefs.IsInvalidArgument(err) {
		t.Errorf("a 5000-byte label: %v, want invalid argument", err)
	}
	flood := map[string]string{}
	for i := 0; i < 5000; i++ {
		flood[fmt.Sprintf("label-%d", i)] = "v"
	}
	if _, err := lm.Create(ctx, leases.WithRandomID(), leases.WithLabels(flood)); !errdefs.IsInvalidArgument(err) {
		t.Errorf("5000 labels: %v, want invalid argument", err)
	}
	terms := strings.TrimSuffix(strings.Repeat("labels.a==b,", 2000), ",")
	if _, err := lm.List(ctx, terms); !errdefs.IsInvalidArgument(err) {
		t.Errorf("a filter of 2000 terms: %v, want invalid argument", err)
	}
	if err := client.ContentStore().Walk(ctx, func(content.Info) error { return nil }, terms); !errdefs.IsInvalidArgument(err) {
		t.Errorf("content walk with 2000 terms: %v, want invalid argument", err)
	}

	// Writes opened and abandoned: the namespace's quota runs out with
	// ResourceExhausted, and closing them frees it.
	wctx, cancel := context.WithCancel(ctx)
	var writers []content.Writer
	var refused error
	for i := 0; i < 300 && refused == nil; i++ {
		w, err := client.ContentStore().Writer(wctx, content.WithRef(fmt.Sprintf("abandoned-%d", i)))
		if err != nil {
			refused = err
			break
		}
		writers = append(writers, w)
	}
	if !errdefs.IsResourceExhausted(refused) {
		t.Errorf("after %d open writes: %v, want resource exhausted", len(writers), refused)
	}
	for _, w := range writers {
		w.Close()
	}
	cancel()
	waitFor(t, 30*time.Second, func() error {
		w, err := client.ContentStore().Writer(ctx, content.WithRef("after-abandon"))
		if err != nil {
			return err
		}
		return w.Close()
	})

	const nLeases = 1000
	for i := 0; i < nLeases; i++ {
		if _, err := lm.Create(ctx, leases.WithID(fmt.Sprintf("lease-%d", i)), leases.WithLabels(map[string]string{"n": strconv.Itoa(i)})); err != nil {
			t.Fatalf("lease %d: %v", i, err)
		}
	}
	start := time.Now()
	all, err := lm.List(ctx)
	if err != nil || len(all) != nLeases {
		t.Fatalf("list: %d leases, %v", len(all), err)
	}
	t.Logf("listing %d leases took %v", nLeases, time.Since(start))
	one, err := lm.List(ctx, "labels.n==500")
	if err != nil || len(one) != 1 {
		t.Fatalf("filtered list: %v, %v", one, err)
	}

	after := rssKiB(t, st.Pid("imaged"))
	t.Logf("imaged RSS: %d KiB before, %d KiB after the abuse", before, after)
	if after > 200<<10 {
		t.Errorf("imaged RSS %d KiB after the abuse, want < 200 MiB", after)
	}
	t.Logf("gateway RSS after: %d KiB", rssKiB(t, st.Pid("gateway")))
}
