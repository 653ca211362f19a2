//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	leasesapi "github.com/containerd/containerd/api/services/leases/v1"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/pkg/namespaces"

	"berth.dev/pkg/grpcclient"
	"berth.dev/test/e2e/harness"
)

// leaseCtx is a namespace of the test's own, with a deadline.
func leaseCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), fmt.Sprintf("lease%d", time.Now().UnixNano()%1000000)), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// hasLease lists ns's leases through a connection of its own to socket (the
// node socket, or imaged's while the gateway is down) and reports whether
// id is among them.
func hasLease(t *testing.T, socket, ns, id string) (bool, error) {
	cc, err := grpcclient.Dial(socket)
	if err != nil {
		return false, err
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), ns), 10*time.Second)
	defer cancel()
	resp, err := leasesapi.NewLeasesClient(cc).List(ctx, &leasesapi.ListRequest{})
	if err != nil {
		return false, err
	}
	for _, l := range resp.Leases {
		if l.ID == id {
			return true, nil
		}
	}
	return false, nil
}

// TestLeaseDeleteImagedMissedIsFinished: a client's delete of its lease
// fails because imaged is down, and the gateway is killed too before
// imaged is back; the client stays connected. The delete is finished once
// imaged is back (containerd's client does not ask again: its Pull's and
// NewContainer's leases would hold for 24 hours).
func TestLeaseDeleteImagedMissedIsFinished(t *testing.T) {
	skipKnown(t, "client-lease-leak")
	// Far past the test: the lease may only go because it was deleted.
	st := harness.Start(t, harness.WithEnv("BERTH_IMAGED_ORPHAN_LEASE_GRACE=1h", "BERTH_GATEWAY_RESTART_GRACE=0s"))
	client := newClient(t, st)
	ctx := leaseCtx(t)
	ns, _ := namespaces.Namespace(ctx)
	l, err := client.LeasesService().Create(ctx, leases.WithRandomID(), leases.WithExpiration(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writeBlob(leases.WithLease(ctx, l.ID), client.ContentStore(), "held-"+l.ID, []byte("held by "+l.ID)); err != nil {
		t.Fatal(err)
	}
	st.Kill(t, "imaged")
	if err := client.LeasesService().Delete(ctx, l); err == nil {
		t.Fatal("a lease delete succeeded with imaged down")
	}
	st.Restart(t, "gateway", true)
	st.StartDaemon(t, "imaged")
	var there bool
	if !settles(30*time.Second, 200*time.Millisecond, func() bool { there, err = hasLease(t, st.Socket, ns, l.ID); return err == nil && !there }) {
		t.Fatalf("lease %s, whose client's delete imaged missed, is still there 30 s after imaged came back (%v)", l.ID, err)
	}
}

// TestLeaseCreateAnswerLostEnds: the gateway is killed while imaged makes
// a client's lease, so the create's answer never reaches the client (imaged
// is held stopped while the gateway dies, then lets the create through).
// Nothing knows that lease: it ends once the grace period for departed
// clients is over.
func TestLeaseCreateAnswerLostEnds(t *testing.T) {
	skipKnown(t, "client-lease-leak")
	st := harness.Start(t, harness.WithEnv("BERTH_IMAGED_ORPHAN_LEASE_GRACE=2s"))
	client := newClient(t, st)
	ctx := leaseCtx(t)
	ns, _ := namespaces.Namespace(ctx)
	// The namespace exists first: the gateway records a new one before it
	// forwards.
	if _, err := client.LeasesService().Create(ctx, leases.WithRandomID()); err != nil {
		t.Fatal(err)
	}
	// Whether imaged, let go on, takes the request its dead gateway left
	// in its socket is up to the order in which it reads the request and
	// the connection's end; a round where it does not is tried again.
	// (TestLeaseDeleteGatewayMissedEnds leaves imaged the same state, an
	// unused lease of a connection the restart cut off, every time.)
	var lost string
	for round := 1; lost == "" && round <= 3; round++ {
		lost = loseCreateAnswer(t, st, client, ctx, 500*time.Millisecond)
		if lost == "" {
			st.StartDaemon(t, "gateway")
		}
	}
	if lost == "" {
		t.Skip("in 3 rounds imaged never made a lease whose create the dead gateway had forwarded: nothing to check")
	}
	st.StartDaemon(t, "gateway")
	var there bool
	var err error
	if !settles(30*time.Second, 200*time.Millisecond, func() bool { there, err = hasLease(t, st.Socket, ns, lost); return err == nil && !there }) {
		t.Fatalf("lease %s, whose create never answered its client, is still there 30 s after the gateway came back (%v)", lost, err)
	}
}

// loseCreateAnswer stops imaged, has client create a lease, kills the
// gateway after forwarding (the request then waits in imaged's socket) and
// lets imaged go on. It returns the lease's id if imaged made it, with the
// gateway down.
func loseCreateAnswer(t *testing.T, st *harness.Stack, client *containerd.Client, ctx context.Context, forwarding time.Duration) string {
	imaged := st.Pid("imaged")
	syscall.Kill(imaged, syscall.SIGSTOP)
	defer syscall.Kill(imaged, syscall.SIGCONT)
	id := fmt.Sprintf("lost-%d", time.Now().UnixNano())
	created := make(chan error, 1)
	go func() {
		_, err := client.LeasesService().Create(ctx, leases.WithID(id), leases.WithExpiration(24*time.Hour))
		created <- err
	}()
	time.Sleep(forwarding)
	st.Kill(t, "gateway")
	if err := <-created; err == nil {
		// Answered before the gateway died after all: not the case here.
		return ""
	}
	syscall.Kill(imaged, syscall.SIGCONT)
	ns, _ := namespaces.Namespace(ctx)
	if settles(5*time.Second, 100*time.Millisecond, func() bool { there, _ := hasLease(t, st.SocketOf("imaged"), ns, id); return there }) {
		return id
	}
	return ""
}

// TestLeaseDeleteGatewayMissedEnds: a client (containerd's NewContainer
// whose snapshot prepare failed) deletes its lease while the gateway is
// down, having written nothing under it; the client stays. Once the
// gateway is back the lease ends after the grace period. A lease its client
// made with `ctr leases create` and left behind by closing its connection
// stays through the restart, as in containerd.
func TestLeaseDeleteGatewayMissedEnds(t *testing.T) {
	skipKnown(t, "client-lease-leak")
	st := harness.Start(t, harness.WithEnv("BERTH_IMAGED_ORPHAN_LEASE_GRACE=2s"))
	ctx := leaseCtx(t)
	ns, _ := namespaces.Namespace(ctx)
	manual := fmt.Sprintf("manual-%d", time.Now().UnixNano())
	st.MustCtr(t, "-n", ns, "leases", "create", "--id", manual)
	if !settles(20*time.Second, 100*time.Millisecond, func() bool {
		return strings.Contains(st.Logs("imaged"), "leases kept: their client left them unused")
	}) {
		t.Fatal("imaged never heard that ctr's connection closed")
	}
	client := newClient(t, st)
	l, err := client.LeasesService().Create(ctx, leases.WithRandomID(), leases.WithExpiration(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	st.Kill(t, "gateway")
	if err := client.LeasesService().Delete(ctx, l); err == nil {
		t.Fatal("a lease delete succeeded with the gateway down")
	}
	st.StartDaemon(t, "gateway")
	var there bool
	if !settles(30*time.Second, 200*time.Millisecond, func() bool { there, err = hasLease(t, st.Socket, ns, l.ID); return err == nil && !there }) {
		t.Fatalf("lease %s, whose client's delete found the gateway down, is still there 30 s after the gateway came back (%v)", l.ID, err)
	}
	if there, err := hasLease(t, st.Socket, ns, manual); err != nil || !there {
		t.Fatalf("lease %s, made by ctr leases create, ended with the gateway's restart (%v)", manual, err)
	}
}
