package cri

import (
	"context"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ListPodSandbox lists pods matching the filter: id (or an id prefix),
// state and every selected label.
func (s *RuntimeService) ListPodSandbox(ctx context.Context, req *runtimeapi.ListPodSandboxRequest) (*runtimeapi.ListPodSandboxResponse, error) {
	all, err := s.Store.Sandboxes()
	if err != nil {
		return nil, err
	}
	f := req.GetFilter()
	resp := &runtimeapi.ListPodSandboxResponse{}
	for _, sb := range all {
		state := sandboxStates[sb.State]
		switch {
		case f.GetId() != "" && !strings.HasPrefix(sb.ID, f.GetId()):
			continue
		case f.GetState() != nil && f.GetState().GetState() != state:
			continue
		case !selects(f.GetLabelSelector(), sb.Labels):
			continue
		}
		resp.Items = append(resp.Items, &runtimeapi.PodSandbox{
			Id: sb.ID, Metadata: sandboxMetadata(sb.Metadata), State: state, CreatedAt: sb.CreatedAt.UnixNano(),
			Labels: sb.Labels, Annotations: sb.Annotations, RuntimeHandler: sb.RuntimeHandler,
		})
	}
	return resp, nil
}

// selects reports whether labels hold every key=value of the selector.
func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}
