package server

import (
	"context"
	"fmt"

	"berth.dev/pkg/daemon"
	"berth.dev/pkg/namespace"
	adminv1 "berth.dev/proto/berth/admin/v1"
	"berth.dev/services/taskd/internal/container"
	"berth.dev/services/taskd/internal/task"
)

// Admin answers the gateway for taskd.
type Admin struct {
	Containers *container.Store
	Tasks      *task.Manager
}

// Plugins lists the runtime and the gRPC services.
func (Admin) Plugins() []*adminv1.Plugin {
	return []*adminv1.Plugin{
		{Type: "io.containerd.runtime.v2", Id: "task", Exports: map[string]string{"shim": "berth-shim"}},
		{Type: "io.containerd.monitor.v1", Id: "cgroups"},
		daemon.GRPCPlugin("containers", "io.containerd.metadata.v1"),
		daemon.GRPCPlugin("tasks", "io.containerd.runtime.v2"),
	}
}

// NamespaceUsage lists the containers ns still holds.
func (a Admin) NamespaceUsage(ctx context.Context, ns string) ([]string, error) {
	cs, err := a.Containers.List(namespace.WithNamespace(ctx, ns))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range cs {
		out = append(out, "container "+c.ID)
	}
	if n := a.Tasks.Count(ns); n > 0 {
		out = append(out, fmt.Sprintf("%d tasks", n))
	}
	return out, nil
}
