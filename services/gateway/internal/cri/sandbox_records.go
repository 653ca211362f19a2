package cri

import (
	"github.com/containerd/containerd/api/types"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Sandboxer names the CRI's pods in containerd's sandbox records, as
// containerd's CRI does.
const Sandboxer = "podsandbox"

// SandboxRecords describes the pod sandboxes as containerd sandbox records
// (namespace k8s.io), so `ctr sandboxes ls` lists what the CRI runs.
func (s *RuntimeService) SandboxRecords() ([]*types.Sandbox, error) {
	sbs, err := s.Store.Sandboxes()
	if err != nil {
		return nil, err
	}
	out := make([]*types.Sandbox, 0, len(sbs))
	for _, sb := range sbs {
		created := timestamppb.New(sb.CreatedAt)
		out = append(out, &types.Sandbox{
			SandboxID: sb.ID,
			Runtime:   &types.Sandbox_Runtime{Name: runtimeType(sb.RuntimeHandler)},
			Labels:    sb.Labels,
			CreatedAt: created,
			UpdatedAt: created,
			Sandboxer: Sandboxer,
		})
	}
	return out, nil
}

func runtimeType(handler string) string {
	if handler == "" || handler == handlerRunc || handler == handlerCrun {
		return "io.containerd.runc.v2"
	}
	return handler
}
