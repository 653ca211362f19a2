package cri

import (
	"context"
	"encoding/json"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"berth.dev/services/gateway/internal/cri/store"
)

var sandboxStates = map[string]runtimeapi.PodSandboxState{
	store.SandboxReady:    runtimeapi.PodSandboxState_SANDBOX_READY,
	store.SandboxNotReady: runtimeapi.PodSandboxState_SANDBOX_NOTREADY,
}

func sandboxMetadata(md store.Metadata) *runtimeapi.PodSandboxMetadata {
	return &runtimeapi.PodSandboxMetadata{Name: md.Name, Uid: md.UID, Namespace: md.Namespace, Attempt: md.Attempt}
}

// PodSandboxStatus reports a pod from its record; an unknown id is
// NotFound.
func (s *RuntimeService) PodSandboxStatus(ctx context.Context, req *runtimeapi.PodSandboxStatusRequest) (*runtimeapi.PodSandboxStatusResponse, error) {
	sb, err := s.Store.ResolveSandbox(req.GetPodSandboxId())
	if err != nil {
		return nil, err
	}
	cfg := sandboxConfig(sb)
	nsOpts := cfg.GetLinux().GetSecurityContext().GetNamespaceOptions()
	st := &runtimeapi.PodSandboxStatus{
		Id: sb.ID, Metadata: sandboxMetadata(sb.Metadata), State: sandboxStates[sb.State], CreatedAt: sb.CreatedAt.UnixNano(),
		Network: &runtimeapi.PodSandboxNetworkStatus{Ip: sb.IP},
		Linux: &runtimeapi.LinuxPodSandboxStatus{Namespaces: &runtimeapi.Namespace{Options: &runtimeapi.NamespaceOption{
			Network: nsOpts.GetNetwork(), Pid: nsOpts.GetPid(), Ipc: nsOpts.GetIpc(), TargetId: nsOpts.GetTargetId(),
		}}},
		Labels: sb.Labels, Annotations: sb.Annotations, RuntimeHandler: sb.RuntimeHandler,
	}
	for _, ip := range sb.AdditionalIPs {
		st.Network.AdditionalIps = append(st.Network.AdditionalIps, &runtimeapi.PodIP{Ip: ip})
	}
	resp := &runtimeapi.PodSandboxStatusResponse{Status: st, Timestamp: time.Now().UnixNano()}
	containers, err := s.sandboxContainers(sb.ID)
	if err != nil {
		return nil, err
	}
	for _, c := range containers {
		resp.ContainersStatuses = append(resp.ContainersStatuses, s.containerStatus(c))
	}
	if req.GetVerbose() {
		info, _ := json.Marshal(map[string]any{
			"pid": sb.Pid, "netNamespacePath": sb.NetNS, "image": sb.Image, "runtimeHandler": sb.RuntimeHandler,
			"cgroupParent": sb.CgroupParent, "sandboxDir": sb.Dir, "cniResult": json.RawMessage(orNull(sb.CNIResult)),
			"config": cfg,
		})
		resp.Info = map[string]string{"info": string(info)}
	}
	return resp, nil
}

func orNull(b []byte) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	return b
}
