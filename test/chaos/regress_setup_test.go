//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"google.golang.org/grpc"

	"berth.dev/pkg/grpcclient"
	"berth.dev/test/e2e/harness"
)

// The stacks and waits the regression tests share: each test shows its
// defect in a few lines of its own on top of these.

// small is a stack with the runnable image pulled into a namespace of its
// own, which ctx carries.
func small(t *testing.T, opts ...harness.Option) (*harness.Stack, *containerd.Client, containerd.Image, context.Context) {
	reg := harness.Registry(t)
	ref := reg + "/regress/busybox:1"
	harness.Push(t, ref, harness.BusyboxImage(t))
	st := harness.Start(t, opts...)
	client := newClient(t, st)
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), fmt.Sprintf("regress%d", time.Now().UnixNano()%100000)), 2*time.Minute)
	t.Cleanup(cancel)
	r := &run{client: client, busybox: ref}
	img, err := r.clientPullPlain(ctx)
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	return st, client, img, ctx
}

// proxied is a run whose stack pulls from a fault proxy in front of a
// fresh registry, with env added to its daemons' environment, and both a
// Berth and a containerd connection to it.
func proxied(t *testing.T, env ...string) *run {
	reg := harness.Registry(t)
	proxy := startProxy(t, reg)
	r := &run{t: t, reg: reg, proxy: proxy}
	r.st = harness.Start(t, harness.WithEnv(append([]string{"BERTH_REGISTRY_CONFIG_PATH=" + hostsDir(t, proxy.addr)}, env...)...))
	r.berth = berthConn(t, r.st)
	r.client = newClient(t, r.st)
	return r
}

// hostsDir is a registry configuration directory (BERTH_REGISTRY_CONFIG_PATH)
// that reaches host over plain HTTP.
func hostsDir(t *testing.T, host string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, host), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, host, "hosts.toml"), []byte(fmt.Sprintf("server = \"http://%s\"\n", host)), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newClient is a containerd client of st, closed when the test ends.
func newClient(t *testing.T, st *harness.Stack) *containerd.Client {
	t.Helper()
	client, err := containerd.New(st.Socket, containerd.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

// berthConn is a connection to st's node socket for Berth's own services,
// closed when the test ends.
func berthConn(t *testing.T, st *harness.Stack) *grpc.ClientConn {
	t.Helper()
	cc, err := grpcclient.Dial(st.Socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// collectingLease creates a lease in ctx's namespace and runs collections
// back to back, each by a synchronous lease delete, until the test ends:
// what is made under the lease (lctx carries it) must survive them.
func collectingLease(t *testing.T, ctx context.Context, client *containerd.Client) (lctx context.Context, id string) {
	ls := client.LeasesService()
	held, err := ls.Create(ctx, leases.WithRandomID())
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if l, err := ls.Create(ctx, leases.WithRandomID()); err == nil {
				ls.Delete(ctx, l, leases.SynchronousDelete)
			}
		}
	}()
	t.Cleanup(func() { close(stop); wg.Wait() })
	return leases.WithLease(ctx, held.ID), held.ID
}

// survives lets a collection or two run, then fails the test if what,
// made under lease after n others survived, is gone (stat fails).
func survives(t *testing.T, what, lease string, n int, stat func() error) {
	t.Helper()
	time.Sleep(20 * time.Millisecond)
	if err := stat(); err != nil {
		t.Fatalf("%s under lease %s, is gone after %d others survived: %v", what, lease, n, err)
	}
}

// settles polls done every interval until it holds or within has passed,
// and says whether it held.
func settles(within, interval time.Duration, done func() bool) bool {
	deadline := time.Now().Add(within)
	for !done() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(interval)
	}
	return true
}
