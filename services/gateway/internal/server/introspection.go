package server

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"syscall"

	api "github.com/containerd/containerd/api/services/introspection/v1"
	"github.com/containerd/containerd/api/types"
	"github.com/containerd/errdefs"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/emptypb"

	"berth.dev/pkg/filters"
	adminv1 "berth.dev/proto/berth/admin/v1"
	"berth.dev/services/gateway/internal/daemons"
)

// Introspection serves containerd.services.introspection.v1: the gateway's
// own plugins followed by each daemon's.
type Introspection struct {
	api.UnimplementedIntrospectionServer
	Daemons *daemons.Set
	// Own are the gateway's plugins.
	Own  []*adminv1.Plugin
	UUID string
}

// Register adds the service to srv.
func (s *Introspection) Register(srv *grpc.Server) { api.RegisterIntrospectionServer(srv, s) }

func (s *Introspection) Plugins(ctx context.Context, req *api.PluginsRequest) (*api.PluginsResponse, error) {
	f, err := filters.Parse(req.Filters...)
	if err != nil {
		return nil, err
	}
	var all []*api.Plugin
	for _, p := range s.Own {
		all = append(all, pluginToAPI(p, nil))
	}
	for _, d := range s.Daemons.Plugins(ctx) {
		for _, p := range d.Plugins {
			all = append(all, pluginToAPI(p, d.Err))
		}
	}
	resp := &api.PluginsResponse{}
	for _, p := range all {
		if f.Match(pluginAdaptor{p}) {
			resp.Plugins = append(resp.Plugins, p)
		}
	}
	return resp, nil
}

func pluginToAPI(p *adminv1.Plugin, daemonErr error) *api.Plugin {
	out := &api.Plugin{
		Type:         p.Type,
		ID:           p.Id,
		Requires:     p.Requires,
		Exports:      p.Exports,
		Capabilities: p.Capabilities,
		Platforms:    []*types.Platform{{OS: "linux", Architecture: runtime.GOARCH}},
	}
	switch {
	case daemonErr != nil:
		out.InitErr = &rpcstatus.Status{Code: int32(codes.Unavailable), Message: daemonErr.Error()}
	case p.InitError != "":
		out.InitErr = &rpcstatus.Status{Code: int32(codes.Unknown), Message: p.InitError}
	}
	return out
}

type pluginAdaptor struct{ p *api.Plugin }

func (a pluginAdaptor) Field(path []string) (string, bool) {
	switch path[0] {
	case "type":
		return a.p.Type, true
	case "id":
		return a.p.ID, true
	case "capabilities":
		for _, c := range a.p.Capabilities {
			if len(path) > 1 && c == path[1] {
				return c, true
			}
		}
	}
	return "", false
}

func (s *Introspection) Server(context.Context, *emptypb.Empty) (*api.ServerResponse, error) {
	var pidns uint64
	if st, err := os.Stat("/proc/self/ns/pid"); err == nil {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			pidns = sys.Ino
		}
	}
	return &api.ServerResponse{UUID: s.UUID, Pid: uint64(os.Getpid()), Pidns: pidns}, nil
}

func (s *Introspection) PluginInfo(ctx context.Context, req *api.PluginInfoRequest) (*api.PluginInfoResponse, error) {
	resp, err := s.Plugins(ctx, &api.PluginsRequest{})
	if err != nil {
		return nil, err
	}
	for _, p := range resp.Plugins {
		if p.Type == req.Type && p.ID == req.ID {
			return &api.PluginInfoResponse{Plugin: p}, nil
		}
	}
	return nil, fmt.Errorf("plugin %s.%s: %w", req.Type, req.ID, errdefs.ErrNotFound)
}
