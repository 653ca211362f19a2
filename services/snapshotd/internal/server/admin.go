package server

import (
	"context"
	"strings"

	"github.com/dgraph-io/badger/v4"

	"berth.dev/pkg/daemon"
	"berth.dev/pkg/store"
	adminv1 "berth.dev/proto/berth/admin/v1"
	"berth.dev/services/snapshotd/internal/snapshot"
)

// Admin answers the gateway for snapshotd.
type Admin struct {
	DB       *badger.DB
	Manager  *snapshot.Manager
	Problems map[string]string // snapshotter → why it is unavailable
}

// Plugins lists snapshotters, the differ and the gRPC services.
func (a Admin) Plugins() []*adminv1.Plugin {
	var out []*adminv1.Plugin
	for _, name := range []string{"overlayfs", "native"} {
		out = append(out, &adminv1.Plugin{Type: "io.containerd.snapshotter.v1", Id: name, InitError: a.Problems[name],
			Exports: map[string]string{"root": a.Manager.Root(name)}})
	}
	return append(out,
		&adminv1.Plugin{Type: "io.containerd.differ.v1", Id: "walking"},
		daemon.GRPCPlugin("snapshots", "io.containerd.snapshotter.v1"),
		daemon.GRPCPlugin("diff", "io.containerd.differ.v1"),
	)
}

// NamespaceUsage lists the snapshots ns still holds.
func (a Admin) NamespaceUsage(_ context.Context, ns string) ([]string, error) {
	var out []string
	err := a.DB.View(func(txn *badger.Txn) error {
		for _, name := range a.Manager.Snapshotters() {
			p := snapshot.Prefix(name, ns)
			for _, k := range store.Keys(txn, p) {
				out = append(out, "snapshot "+name+"/"+strings.TrimPrefix(k, p))
			}
		}
		return nil
	})
	return out, err
}
