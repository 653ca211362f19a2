package cri

import (
	"context"
	"encoding/json"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// runtimeName is what Version reports as the runtime's name.
const runtimeName = "berth"

// Version reports the CRI and Berth versions.
func (s *RuntimeService) Version(ctx context.Context, req *runtimeapi.VersionRequest) (*runtimeapi.VersionResponse, error) {
	return &runtimeapi.VersionResponse{Version: "0.1.0", RuntimeName: runtimeName, RuntimeVersion: s.Release, RuntimeApiVersion: "v1"}, nil
}

// Status reports the runtime ready and the network ready once a CNI
// configuration exists.
func (s *RuntimeService) Status(ctx context.Context, req *runtimeapi.StatusRequest) (*runtimeapi.StatusResponse, error) {
	runtimeCond := &runtimeapi.RuntimeCondition{Type: runtimeapi.RuntimeReady, Status: true}
	netCond := &runtimeapi.RuntimeCondition{Type: runtimeapi.NetworkReady, Status: true}
	if err := s.Network.Ready(); err != nil {
		netCond.Status, netCond.Reason, netCond.Message = false, "NetworkPluginNotReady", "Network plugin returns error: "+err.Error()
	}
	var hs []*runtimeapi.RuntimeHandler
	for _, h := range Handlers() {
		hs = append(hs, &runtimeapi.RuntimeHandler{Name: h, Features: &runtimeapi.RuntimeHandlerFeatures{RecursiveReadOnlyMounts: recursiveReadOnlySupported(s.handler(h))}})
	}
	resp := &runtimeapi.StatusResponse{
		Status:          &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{runtimeCond, netCond}},
		RuntimeHandlers: hs,
		// The spec builder honours Merge and Strict (setUser) and
		// ContainerStatus reports the identity the process got.
		Features: &runtimeapi.RuntimeFeatures{SupplementalGroupsPolicy: true},
	}
	if req.GetVerbose() {
		info, _ := json.Marshal(map[string]any{
			"sandboxImage":  s.SandboxImage,
			"snapshotter":   s.Snapshotter,
			"systemdCgroup": s.SystemdCgroup,
			"podCIDR":       s.runtimeCfg.podCIDR(),
		})
		resp.Info = map[string]string{"config": string(info)}
	}
	return resp, nil
}
