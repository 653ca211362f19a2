package router

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	leasesapi "github.com/containerd/containerd/api/services/leases/v1"
	"github.com/containerd/errdefs"
	"github.com/dgraph-io/badger/v4"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/emptypb"

	"berth.dev/pkg/grpcclient"
	"berth.dev/pkg/grpcserver"
	"berth.dev/pkg/store"
	"berth.dev/pkg/store/storetest"
	"berth.dev/services/gateway/internal/errand"
)

// leaseKeeper is imaged's leases, whose first delete is applied and then
// answered Unavailable (imaged killed after its commit).
type leaseKeeper struct {
	leasesapi.UnimplementedLeasesServer
	mu        sync.Mutex
	leases    map[string]bool
	cutDelete bool
}

func (k *leaseKeeper) Create(_ context.Context, req *leasesapi.CreateRequest) (*leasesapi.CreateResponse, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.leases[req.ID] {
		return nil, errdefs.ErrAlreadyExists
	}
	k.leases[req.ID] = true
	return &leasesapi.CreateResponse{Lease: &leasesapi.Lease{ID: req.ID}}, nil
}

func (k *leaseKeeper) Delete(_ context.Context, req *leasesapi.DeleteRequest) (*emptypb.Empty, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.leases[req.ID] {
		return nil, errdefs.ErrNotFound
	}
	delete(k.leases, req.ID)
	if k.cutDelete {
		k.cutDelete = false
		return nil, fmt.Errorf("imaged went away: %w", errdefs.ErrUnavailable)
	}
	return &emptypb.Empty{}, nil
}

func (k *leaseKeeper) has(id string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.leases[id]
}

// A client's delete imaged took but could not answer is kept to finish;
// when the client then makes a lease of the same id, the delete goes
// first and the new lease stays.
func TestLeaseDeleteFinishedBeforeARecreate(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "imaged.sock")
	keeper := &leaseKeeper{leases: map[string]bool{"l1": true}, cutDelete: true}
	stop := startBackend(t, sock, func(s *grpc.Server) { leasesapi.RegisterLeasesServer(s, keeper) })
	t.Cleanup(stop)
	b, err := Dial("imaged", sock, "containerd.services.leases.v1.Leases")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	db := storetest.Open(t)
	q := errand.New(db, b.Conn)
	r := New(nil, b)
	r.FinishLeases(q)
	gwSock := filepath.Join(dir, "gw.sock")
	gw := grpcserver.New(zap.NewNop(), r.ServerOptions()...)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { grpcserver.Serve(ctx, gw, gwSock); close(served) }()
	t.Cleanup(func() { cancel(); <-served })
	cc, err := grpcclient.Dial(gwSock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	client := leasesapi.NewLeasesClient(cc)
	nctx := metadata.AppendToOutgoingContext(context.Background(), "containerd-namespace", "ns1")

	// The queue does not run yet: its retry is still to come.
	if _, err := client.Delete(nctx, &leasesapi.DeleteRequest{ID: "l1"}, grpc.WaitForReady(true)); err == nil {
		t.Fatal("delete answered, want the failure imaged gave")
	}
	if _, err := client.Create(nctx, &leasesapi.CreateRequest{ID: "l1"}); err != nil {
		t.Fatalf("create again: %v", err)
	}
	rctx, stopRun := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { q.Run(rctx); close(ran) }()
	t.Cleanup(func() { stopRun(); <-ran })
	deadline := time.Now().Add(20 * time.Second)
	for {
		left := 0
		db.View(func(txn *badger.Txn) error { left = len(store.Keys(txn, "leaseerrand/")); return nil })
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the errand is still kept")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !keeper.has("l1") {
		t.Fatal("the lease made after the delete was deleted by the delete's errand")
	}
}
