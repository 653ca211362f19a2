package cri

import (
	"context"
	"encoding/json"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"berth.dev/services/gateway/internal/cri/store"
)

var containerStates = map[string]runtimeapi.ContainerState{
	store.ContainerCreated: runtimeapi.ContainerState_CONTAINER_CREATED,
	store.ContainerRunning: runtimeapi.ContainerState_CONTAINER_RUNNING,
	store.ContainerExited:  runtimeapi.ContainerState_CONTAINER_EXITED,
	store.ContainerUnknown: runtimeapi.ContainerState_CONTAINER_UNKNOWN,
}

func containerMetadata(md store.Metadata) *runtimeapi.ContainerMetadata {
	return &runtimeapi.ContainerMetadata{Name: md.Name, Attempt: md.Attempt}
}

func unixNano(t interface{ UnixNano() int64 }, zero bool) int64 {
	if zero {
		return 0
	}
	return t.UnixNano()
}

// ContainerStatus reports a container from its record; an unknown id is
// NotFound.
func (s *RuntimeService) ContainerStatus(ctx context.Context, req *runtimeapi.ContainerStatusRequest) (*runtimeapi.ContainerStatusResponse, error) {
	c, err := s.Store.ResolveContainer(req.GetContainerId())
	if err != nil {
		return nil, err
	}
	resp := &runtimeapi.ContainerStatusResponse{Status: s.containerStatus(c)}
	if req.GetVerbose() {
		info, _ := json.Marshal(map[string]any{
			"sandboxID": c.SandboxID, "pid": c.Pid, "snapshotKey": c.ID, "snapshotter": s.Snapshotter,
			"runtimeType": runcRuntime, "imageName": c.ImageName, "config": containerConfig(c),
		})
		resp.Info = map[string]string{"info": string(info)}
	}
	return resp, nil
}

func (s *RuntimeService) containerStatus(c *store.Container) *runtimeapi.ContainerStatus {
	cfg := containerConfig(c)
	image := c.ImageName
	if image == "" {
		image = c.Image
	}
	st := &runtimeapi.ContainerStatus{
		Id: c.ID, Metadata: containerMetadata(c.Metadata), State: containerStates[c.State],
		CreatedAt: c.CreatedAt.UnixNano(), StartedAt: unixNano(c.StartedAt, c.StartedAt.IsZero()),
		FinishedAt: unixNano(c.FinishedAt, c.FinishedAt.IsZero()), ExitCode: c.ExitCode,
		Image: &runtimeapi.ImageSpec{Image: image, Annotations: cfg.GetImage().GetAnnotations()}, ImageRef: c.ImageRef, ImageId: c.ImageID,
		Reason: c.Reason, Message: c.Message, Labels: c.Labels, Annotations: c.Annotations,
		Mounts: cfg.GetMounts(), LogPath: c.LogPath, User: containerUser(c),
		Resources: &runtimeapi.ContainerResources{Linux: containerResources(c, cfg)},
	}
	if st.ImageRef == "" {
		st.ImageRef = c.ImageID
	}
	return st
}

func containerResources(c *store.Container, cfg *runtimeapi.ContainerConfig) *runtimeapi.LinuxContainerResources {
	if len(c.Resources) > 0 {
		r := &runtimeapi.LinuxContainerResources{}
		if proto.Unmarshal(c.Resources, r) == nil {
			return r
		}
	}
	return cfg.GetLinux().GetResources()
}

// containerUser reports the identity the process runs with.
func containerUser(c *store.Container) *runtimeapi.ContainerUser {
	groups := make([]int64, 0, len(c.Groups))
	for _, g := range c.Groups {
		groups = append(groups, int64(g))
	}
	return &runtimeapi.ContainerUser{Linux: &runtimeapi.LinuxContainerUser{Uid: int64(c.UID), Gid: int64(c.GID), SupplementalGroups: groups}}
}
