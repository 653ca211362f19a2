//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"berth.dev/test/e2e/harness"
)

// stallingRegistry serves an image whose last layer never finishes
// downloading (until the test ends), so a pull is reliably caught midway.
func stallingRegistry(t *testing.T) string {
	img, err := random.Image(1<<20, 3)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	stalled, err := layers[len(layers)-1].Digest()
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	reg := registry.New()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+stalled.String()) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	ref := strings.TrimPrefix(srv.URL, "http://") + "/orphan/img:1"
	harness.Push(t, ref, img)
	return ref
}

// interruptedPull starts a client-side ctr pull of a stalling image and
// returns once the pull's lease holds content, with a function that kills
// the client.
func interruptedPull(t *testing.T, st *harness.Stack, ref string) (kill func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		st.CtrContext(ctx, "images", "pull", "--plain-http", ref)
	}()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, 60*time.Second, until("the pull's lease to hold content", func() bool {
		return strings.TrimSpace(st.MustCtr(t, "leases", "ls", "-q")) != "" &&
			len(strings.Fields(st.MustCtr(t, "content", "ls", "-q"))) >= 2
	}))
	return func() { cancel(); <-done }
}

// until adapts a condition to waitFor.
func until(what string, cond func() bool) func() error {
	return func() error {
		if cond() {
			return nil
		}
		return fmt.Errorf("still waiting for %s", what)
	}
}

// A client that dies mid-pull leaves a lease (ctr's expires after 24
// hours); Berth ends it once the client has been gone for the grace period
// and collects what it held.
func TestLeaseOfKilledClientEnds(t *testing.T) {
	ref := stallingRegistry(t)
	st := harness.Start(t, harness.WithEnv("BERTH_IMAGED_ORPHAN_LEASE_GRACE=2s"))
	kill := interruptedPull(t, st, ref)
	kill()
	waitFor(t, 60*time.Second, until("the orphaned lease to end", func() bool {
		return strings.TrimSpace(st.MustCtr(t, "leases", "ls", "-q")) == ""
	}))
	waitFor(t, 60*time.Second, until("the collector to free the lease's content", func() bool {
		return strings.TrimSpace(st.MustCtr(t, "content", "ls", "-q")) == ""
	}))
}

// A lease whose client is still connected is kept however long it takes.
func TestLeaseOfLiveClientIsKept(t *testing.T) {
	ref := stallingRegistry(t)
	st := harness.Start(t, harness.WithEnv("BERTH_IMAGED_ORPHAN_LEASE_GRACE=1s"))
	interruptedPull(t, st, ref)
	// Well past the grace period, with a collection forced by a sync
	// lease deletion of another lease.
	st.MustCtr(t, "leases", "create", "--id", "other")
	time.Sleep(3 * time.Second)
	st.MustCtr(t, "leases", "rm", "--sync", "other")
	if strings.TrimSpace(st.MustCtr(t, "leases", "ls", "-q")) == "" {
		t.Fatal("the lease of a client still pulling ended")
	}
	if n := len(strings.Fields(st.MustCtr(t, "content", "ls", "-q"))); n < 2 {
		t.Fatalf("content of a live client's lease collected: %d blobs left", n)
	}
}

// A gateway killed mid-pull loses every client at once; after its restart
// the leases of its earlier clients end too.
func TestLeaseOfClientEndsWhenGatewayKilled(t *testing.T) {
	ref := stallingRegistry(t)
	st := harness.Start(t, harness.WithEnv("BERTH_IMAGED_ORPHAN_LEASE_GRACE=2s"))
	interruptedPull(t, st, ref)
	st.Restart(t, "gateway", true)
	waitFor(t, 60*time.Second, until("the lease of the gateway's earlier client to end", func() bool {
		return strings.TrimSpace(st.MustCtr(t, "leases", "ls", "-q")) == ""
	}))
	waitFor(t, 60*time.Second, until("the collector to free the lease's content", func() bool {
		return strings.TrimSpace(st.MustCtr(t, "content", "ls", "-q")) == ""
	}))
}

// A lease that holds only snapshots (what the Go client's NewContainer
// holds a new container's snapshot under) follows its client too: the
// snapshot's hold, which snapshotd adds, counts as the client's write.
func TestLeaseHoldingOnlySnapshotsEndsWithItsClient(t *testing.T) {
	st := harness.Start(t, harness.WithEnv("BERTH_IMAGED_ORPHAN_LEASE_GRACE=2s"))
	ctx := namespaces.WithNamespace(context.Background(), "snaplease-"+randomHex(t, 6))
	gone, err := containerd.New(st.Socket, containerd.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	l, err := gone.LeasesService().Create(ctx, leases.WithRandomID(), leases.WithExpiration(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gone.SnapshotService("overlayfs").Prepare(leases.WithLease(ctx, l.ID), "held-by-"+l.ID, ""); err != nil {
		t.Fatal(err)
	}
	gone.Close()
	watcher, err := containerd.New(st.Socket, containerd.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { watcher.Close() })
	waitFor(t, 60*time.Second, until("the lease of the departed client to end", func() bool {
		ls, err := watcher.LeasesService().List(ctx)
		return err == nil && len(ls) == 0
	}))
}
