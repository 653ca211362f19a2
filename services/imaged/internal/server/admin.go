package server

import (
	"context"
	"strings"

	"github.com/dgraph-io/badger/v4"

	"berth.dev/pkg/daemon"
	"berth.dev/pkg/store"
	adminv1 "berth.dev/proto/berth/admin/v1"
	"berth.dev/services/imaged/internal/content"
	"berth.dev/services/imaged/internal/image"
	"berth.dev/services/imaged/internal/lease"
)

// Admin answers the gateway for imaged.
type Admin struct{ DB *badger.DB }

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
