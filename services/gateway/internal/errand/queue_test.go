package errand

import (
	"context"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	leasesapi "github.com/containerd/containerd/api/services/leases/v1"
	"github.com/dgraph-io/badger/v4"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"berth.dev/pkg/grpcclient"
	"berth.dev/pkg/namespace"
	"berth.dev/pkg/store"
	"berth.dev/pkg/store/storetest"
	adminv1 "berth.dev/proto/berth/admin/v1"
)

// imaged answers Unavailable to the first calls, then records them.
type imaged struct {
	leasesapi.UnimplementedLeasesServer
	adminv1.UnimplementedAdminServer
	mu      sync.Mutex
	refuse  int
	deleted []string // ns/id sync
	dropped []string // ns/id client
}

func (f *imaged) down() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse > 0 {
		f.refuse--
		return true
	}
	return false
}

func (f *imaged) Delete(ctx context.Context, req *leasesapi.DeleteRequest) (*emptypb.Empty, error) {
	if f.down() {
		return nil, status.Error(codes.Unavailable, "down")
	}
	ns, _ := namespace.FromContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	sync := ""
	if req.Sync {
		sync = " sync"
	}
	f.deleted = append(f.deleted, ns+"/"+req.ID+sync)
	if req.ID == "gone" {
		return nil, status.Error(codes.NotFound, "no lease")
	}
	if req.ID == "refused" {
		return nil, status.Error(codes.FailedPrecondition, "not this lease")
	}
	return &emptypb.Empty{}, nil
}

func (f *imaged) LeaseCreateFailed(_ context.Context, req *adminv1.LeaseCreateFailedRequest) (*adminv1.LeaseCreateFailedResponse, error) {
	if f.down() {
		return nil, status.Error(codes.Unavailable, "down")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dropped = append(f.dropped, req.Namespace+"/"+req.Id+" "+req.Client)
	return &adminv1.LeaseCreateFailedResponse{}, nil
}

func (f *imaged) calls() (deleted, dropped []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.deleted...), append([]string(nil), f.dropped...)
}

func serve(t *testing.T, f *imaged) *grpc.ClientConn {
	sock := filepath.Join(t.TempDir(), "imaged.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	leasesapi.RegisterLeasesServer(srv, f)
	adminv1.RegisterAdminServer(srv, f)
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	cc, err := grpcclient.DialRaw(sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Errands recorded by a gateway that died before imaged came back are run
// by the next one, retried while imaged does not answer, and forgotten
// once done (a delete of a lease already gone is done too, and one imaged
// refuses is not tried again).
func TestErrandsOutliveTheGatewayAndImagedDown(t *testing.T) {
	db := storetest.Open(t)
	f := &imaged{refuse: 3}
	cc := serve(t, f)
	ctx := context.Background()
	dead := New(db, cc)
	for _, e := range []Errand{
		{Namespace: "a", ID: "l1", Sync: true},
		{Namespace: "a", ID: "gone"},
		{Namespace: "a", ID: "refused"},
		{Namespace: "b", ID: "unanswered", Drop: true, Client: "boot1.4"},
	} {
		if err := dead.Add(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	// A new create of the same lease by its client forgets a drop.
	if err := dead.Add(ctx, Errand{Namespace: "b", ID: "recreated", Drop: true, Client: "boot1.4"}); err != nil {
		t.Fatal(err)
	}
	if err := dead.BeforeCreate(ctx, "b", "recreated", true); err != nil {
		t.Fatal(err)
	}

	q := New(db, cc)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { q.Run(rctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "every errand to be done and forgotten", func() bool {
		left := 0
		db.View(func(txn *badger.Txn) error { left = len(store.Keys(txn, prefix)); return nil })
		return left == 0
	})
	deleted, dropped := f.calls()
	want := map[string]bool{"a/l1 sync": true, "a/gone": true}
	for _, d := range deleted {
		delete(want, d)
	}
	if len(want) != 0 {
		t.Errorf("deletes imaged saw: %v", deleted)
	}
	if len(dropped) != 1 || dropped[0] != "b/unanswered boot1.4" {
		t.Errorf("drops imaged saw: %v, want only b/unanswered of boot1.4", dropped)
	}
}
