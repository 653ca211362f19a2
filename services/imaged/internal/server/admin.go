package server

import (
	"context"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
	"go.uber.org/zap"

	"berth.dev/pkg/daemon"
	"berth.dev/pkg/log"
	"berth.dev/pkg/store"
	adminv1 "berth.dev/proto/berth/admin/v1"
	"berth.dev/services/imaged/internal/content"
	"berth.dev/services/imaged/internal/gc"
	"berth.dev/services/imaged/internal/image"
	"berth.dev/services/imaged/internal/lease"
)

// Admin answers the gateway for imaged.
type Admin struct {
	DB     *badger.DB
	Leases *lease.Store
	GC     *gc.Collector
}

// ClientsGone orphans the leases of node-socket clients that went away and
// has the collector look again once their grace period is over.
func (a Admin) ClientsGone(ctx context.Context, boot string, clients []string) error {
	marked, departed, err := a.Leases.LeftBehind(boot, clients, time.Now())
	if departed > 0 {
		log.G(ctx).Debug("leases kept: their client left them unused", zap.Int("count", departed))
	}
	if err != nil || !marked {
		return err
	}
	grace := a.Leases.GracePeriod()
	log.G(ctx).Info("leases orphaned: their client is gone", zap.Duration("grace", grace))
	a.GC.ScheduleAfter(grace + time.Second)
	return nil
}

// LeaseCreateFailed drops the lease of a client's create that failed for
// the client (see lease/failed.go).
func (a Admin) LeaseCreateFailed(ctx context.Context, ns, id, client string) error {
	return a.Leases.DropFailedCreate(ctx, ns, id, client)
}

// Plugins lists what imaged stands for in containerd's plugin terms.
func (Admin) Plugins() []*adminv1.Plugin {
	return []*adminv1.Plugin{
		{Type: "io.containerd.content.v1", Id: "content"},
		{Type: "io.containerd.metadata.v1", Id: "badger", Requires: []string{"io.containerd.content.v1"}},
		{Type: "io.containerd.gc.v1", Id: "scheduler", Requires: []string{"io.containerd.metadata.v1"}},
		{Type: "io.containerd.lease.v1", Id: "manager", Requires: []string{"io.containerd.metadata.v1"}},
		daemon.GRPCPlugin("content", "io.containerd.content.v1"),
		daemon.GRPCPlugin("images", "io.containerd.metadata.v1"),
		daemon.GRPCPlugin("leases", "io.containerd.lease.v1"),
		{Type: "io.containerd.streaming.v1", Id: "manager", Requires: []string{"io.containerd.metadata.v1"}},
		{Type: "io.containerd.transfer.v1", Id: "local", Requires: []string{"io.containerd.lease.v1", "io.containerd.metadata.v1"}},
		daemon.GRPCPlugin("streaming", "io.containerd.streaming.v1"),
		daemon.GRPCPlugin("transfer", "io.containerd.transfer.v1", "io.containerd.streaming.v1"),
	}
}

// NamespaceUsage lists the images, content and leases ns still holds.
func (a Admin) NamespaceUsage(_ context.Context, ns string) ([]string, error) {
	var out []string
	err := a.DB.View(func(txn *badger.Txn) error {
		for what, prefix := range map[string]string{"image": image.Prefix(ns), "content": content.Prefix(ns), "lease": lease.Prefix(ns)} {
			for _, k := range store.Keys(txn, prefix) {
				out = append(out, what+" "+strings.TrimPrefix(k, prefix))
			}
		}
		return nil
	})
	return out, err
}
