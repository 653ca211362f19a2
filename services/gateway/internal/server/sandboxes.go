package server

import (
	"context"
	"fmt"

	api "github.com/containerd/containerd/api/services/sandbox/v1"
	"github.com/containerd/containerd/api/types"
	"github.com/containerd/errdefs"
	"google.golang.org/grpc"

	"berth.dev/pkg/filters"
	"berth.dev/pkg/namespace"
	"berth.dev/services/gateway/internal/sandbox"
)

// Sandboxes serves containerd.services.sandbox.v1.Store: records clients
// create, plus the CRI's pods (read-only here) in the CRI's namespace.
type Sandboxes struct {
	api.UnimplementedStoreServer
	Store *sandbox.Store
	// PodNamespace is where Pods lives; Pods lists the CRI's sandboxes.
	PodNamespace string
	Pods         func() ([]*types.Sandbox, error)
}

// Register adds the service to srv.
func (s *Sandboxes) Register(srv *grpc.Server) { api.RegisterStoreServer(srv, s) }

// pods returns the CRI's sandboxes when ctx is in their namespace.
func (s *Sandboxes) pods(ctx context.Context) ([]*types.Sandbox, error) {
	if ns, _ := namespace.FromContext(ctx); s.Pods == nil || ns != s.PodNamespace {
		return nil, nil
	}
	return s.Pods()
}

func (s *Sandboxes) pod(ctx context.Context, id string) (*types.Sandbox, error) {
	pods, err := s.pods(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range pods {
		if p.SandboxID == id {
			return p, nil
		}
	}
	return nil, nil
}

// managedByCRI refuses changes to a pod's record: the CRI owns it.
func (s *Sandboxes) managedByCRI(ctx context.Context, id string) error {
	p, err := s.pod(ctx, id)
	if err != nil {
		return err
	}
	if p != nil {
		return fmt.Errorf("sandbox %q is a pod run by the CRI; use the CRI to change it: %w", id, errdefs.ErrFailedPrecondition)
	}
	return nil
}

func (s *Sandboxes) Create(ctx context.Context, req *api.StoreCreateRequest) (*api.StoreCreateResponse, error) {
	id := req.GetSandbox().GetSandboxID()
	if p, err := s.pod(ctx, id); err != nil {
		return nil, err
	} else if p != nil {
		return nil, fmt.Errorf("sandbox %q is a pod run by the CRI: %w", id, errdefs.ErrAlreadyExists)
	}
	sb, err := s.Store.Create(ctx, req.Sandbox)
	if err != nil {
		return nil, err
	}
	return &api.StoreCreateResponse{Sandbox: sb}, nil
}

func (s *Sandboxes) Update(ctx context.Context, req *api.StoreUpdateRequest) (*api.StoreUpdateResponse, error) {
	if err := s.managedByCRI(ctx, req.GetSandbox().GetSandboxID()); err != nil {
		return nil, err
	}
	sb, err := s.Store.Update(ctx, req.Sandbox, req.Fields...)
	if err != nil {
		return nil, err
	}
	return &api.StoreUpdateResponse{Sandbox: sb}, nil
}

func (s *Sandboxes) Delete(ctx context.Context, req *api.StoreDeleteRequest) (*api.StoreDeleteResponse, error) {
	if err := s.managedByCRI(ctx, req.SandboxID); err != nil {
		return nil, err
	}
	if err := s.Store.Delete(ctx, req.SandboxID); err != nil {
		return nil, err
	}
	return &api.StoreDeleteResponse{}, nil
}

func (s *Sandboxes) Get(ctx context.Context, req *api.StoreGetRequest) (*api.StoreGetResponse, error) {
	if p, err := s.pod(ctx, req.SandboxID); err != nil || p != nil {
		return &api.StoreGetResponse{Sandbox: p}, err
	}
	sb, err := s.Store.Get(ctx, req.SandboxID)
	if err != nil {
		return nil, err
	}
	return &api.StoreGetResponse{Sandbox: sb}, nil
}

func (s *Sandboxes) List(ctx context.Context, req *api.StoreListRequest) (*api.StoreListResponse, error) {
	f, err := filters.Parse(req.Filters...)
	if err != nil {
		return nil, err
	}
	own, err := s.Store.List(ctx)
	if err != nil {
		return nil, err
	}
	pods, err := s.pods(ctx)
	if err != nil {
		return nil, err
	}
	resp := &api.StoreListResponse{}
	for _, sb := range append(pods, own...) {
		if sandbox.Match(f, sb) {
			resp.List = append(resp.List, sb)
		}
	}
	return resp, nil
}
