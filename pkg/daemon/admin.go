package daemon

import (
	"context"

	"google.golang.org/grpc"

	"berth.dev/pkg/namespace"
	adminv1 "berth.dev/proto/berth/admin/v1"
)

// Admin is what a daemon tells the gateway about itself.
type Admin interface {
	// Plugins lists the containerd plugins the daemon stands for.
	Plugins() []*adminv1.Plugin
	// NamespaceUsage lists what ns still holds in the daemon.
	NamespaceUsage(ctx context.Context, ns string) ([]string, error)
}

// ClientTracker is implemented by a daemon that holds something per
// node-socket client (imaged: leases) and lets it go once the client is gone.
type ClientTracker interface {
	ClientsGone(ctx context.Context, boot string, clients []string) error
}

// LeaseCreateWatcher is implemented by the daemon holding leases (imaged):
// it learns of a client's lease create that failed for the client.
type LeaseCreateWatcher interface {
	LeaseCreateFailed(ctx context.Context, ns, id, client string) error
}

type adminServer struct {
	adminv1.UnimplementedAdminServer
	daemon string
	admin  Admin
}

// RegisterAdmin serves berth.admin.v1.Admin for admin.
func RegisterAdmin(srv *grpc.Server, daemon string, admin Admin) {
	adminv1.RegisterAdminServer(srv, &adminServer{daemon: daemon, admin: admin})
}

func (s *adminServer) Plugins(context.Context, *adminv1.PluginsRequest) (*adminv1.PluginsResponse, error) {
	return &adminv1.PluginsResponse{Daemon: s.daemon, Plugins: s.admin.Plugins()}, nil
}

func (s *adminServer) NamespaceUsage(ctx context.Context, req *adminv1.NamespaceUsageRequest) (*adminv1.NamespaceUsageResponse, error) {
	if err := namespace.Validate(req.Namespace); err != nil {
		return nil, err
	}
	res, err := s.admin.NamespaceUsage(ctx, req.Namespace)
	if err != nil {
		return nil, err
	}
	return &adminv1.NamespaceUsageResponse{Resources: res}, nil
}

func (s *adminServer) ClientsGone(ctx context.Context, req *adminv1.ClientsGoneRequest) (*adminv1.ClientsGoneResponse, error) {
	if t, ok := s.admin.(ClientTracker); ok {
		if err := t.ClientsGone(ctx, req.Boot, req.Clients); err != nil {
			return nil, err
		}
	}
	return &adminv1.ClientsGoneResponse{}, nil
}

func (s *adminServer) LeaseCreateFailed(ctx context.Context, req *adminv1.LeaseCreateFailedRequest) (*adminv1.LeaseCreateFailedResponse, error) {
	if t, ok := s.admin.(LeaseCreateWatcher); ok {
		if err := namespace.Validate(req.Namespace); err != nil {
			return nil, err
		}
		if err := t.LeaseCreateFailed(ctx, req.Namespace, req.Id, req.Client); err != nil {
			return nil, err
		}
	}
	return &adminv1.LeaseCreateFailedResponse{}, nil
}

// GRPCPlugin describes a containerd gRPC service plugin, the entry
// `ctr plugins ls` shows for each API a daemon serves.
func GRPCPlugin(id string, requires ...string) *adminv1.Plugin {
	return &adminv1.Plugin{Type: "io.containerd.grpc.v1", Id: id, Requires: requires}
}
