package cri

import (
	"context"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ListContainers lists containers matching the filter: id (or prefix),
// state, pod sandbox id (or prefix) and every selected label.
func (s *RuntimeService) ListContainers(ctx context.Context, req *runtimeapi.ListContainersRequest) (*runtimeapi.ListContainersResponse, error) {
	all, err := s.Store.Containers()
	if err != nil {
		return nil, err
	}
	f := req.GetFilter()
	resp := &runtimeapi.ListContainersResponse{}
	for _, c := range all {
		state := containerStates[c.State]
		switch {
		case f.GetId() != "" && !strings.HasPrefix(c.ID, f.GetId()):
			continue
		case f.GetPodSandboxId() != "" && !strings.HasPrefix(c.SandboxID, f.GetPodSandboxId()):
			continue
		case f.GetState() != nil && f.GetState().GetState() != state:
			continue
		case !selects(f.GetLabelSelector(), c.Labels):
			continue
		}
		image := c.ImageName
		if image == "" {
			image = c.Image
		}
		resp.Containers = append(resp.Containers, &runtimeapi.Container{
			Id: c.ID, PodSandboxId: c.SandboxID, Metadata: containerMetadata(c.Metadata),
			Image: &runtimeapi.ImageSpec{Image: image}, ImageRef: c.ImageRef, ImageId: c.ImageID, State: state,
			CreatedAt: c.CreatedAt.UnixNano(), Labels: c.Labels, Annotations: c.Annotations,
		})
	}
	return resp, nil
}
