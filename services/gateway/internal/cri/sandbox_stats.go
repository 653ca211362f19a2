package cri

import (
	"context"
	"fmt"

	"github.com/containerd/containerd/api/types"
	"github.com/containerd/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"berth.dev/services/gateway/internal/cri/store"
)

// PodSandboxStats reports a pod's figures: its pause container's and
// each container's.
func (s *RuntimeService) PodSandboxStats(ctx context.Context, req *runtimeapi.PodSandboxStatsRequest) (*runtimeapi.PodSandboxStatsResponse, error) {
	sb, err := s.Store.ResolveSandbox(req.GetPodSandboxId())
	if err != nil {
		return nil, err
	}
	metrics, err := s.metrics(ctx)
	if err != nil {
		return nil, err
	}
	st, err := s.sandboxStats(sb, metrics)
	if err != nil {
		return nil, err
	}
	return &runtimeapi.PodSandboxStatsResponse{Stats: st}, nil
}

// ListPodSandboxStats reports the figures of the pods matching the filter.
func (s *RuntimeService) ListPodSandboxStats(ctx context.Context, req *runtimeapi.ListPodSandboxStatsRequest) (*runtimeapi.ListPodSandboxStatsResponse, error) {
	f := req.GetFilter()
	list, err := s.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{Id: f.GetId(), LabelSelector: f.GetLabelSelector()}})
	if err != nil {
		return nil, err
	}
	metrics, err := s.metrics(ctx)
	if err != nil {
		return nil, err
	}
	resp := &runtimeapi.ListPodSandboxStatsResponse{}
	for _, item := range list.Items {
		sb, err := s.Store.Sandbox(item.Id)
		if errdefs.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		st, err := s.sandboxStats(sb, metrics)
		if err != nil {
			return nil, err
		}
		resp.Stats = append(resp.Stats, st)
	}
	return resp, nil
}

func (s *RuntimeService) sandboxStats(sb *store.Sandbox, metrics map[string]*types.Metric) (*runtimeapi.PodSandboxStats, error) {
	containers, err := s.sandboxContainers(sb.ID)
	if err != nil {
		return nil, fmt.Errorf("containers of %s: %w", sb.ID, err)
	}
	cpu, mem := cgroupStats(metrics[sb.ID])
	linux := &runtimeapi.LinuxPodSandboxStats{Cpu: cpu, Memory: mem}
	var total uint64
	for _, c := range containers {
		cs := containerStats(c, metrics[c.ID])
		linux.Containers = append(linux.Containers, cs)
		total += cs.GetCpu().GetUsageCoreNanoSeconds().GetValue()
	}
	// The pod's CPU is its processes', the pause container's included.
	cpu.UsageCoreNanoSeconds = &runtimeapi.UInt64Value{Value: total + cpu.GetUsageCoreNanoSeconds().GetValue()}
	return &runtimeapi.PodSandboxStats{
		Attributes: &runtimeapi.PodSandboxAttributes{Id: sb.ID, Metadata: sandboxMetadata(sb.Metadata), Labels: sb.Labels, Annotations: sb.Annotations},
		Linux:      linux,
	}, nil
}

// ListMetricDescriptors reports no extra metrics: the kubelet's cAdvisor
// figures come from stats.
func (s *RuntimeService) ListMetricDescriptors(ctx context.Context, req *runtimeapi.ListMetricDescriptorsRequest) (*runtimeapi.ListMetricDescriptorsResponse, error) {
	return &runtimeapi.ListMetricDescriptorsResponse{}, nil
}

// ListPodSandboxMetrics reports no extra metrics.
func (s *RuntimeService) ListPodSandboxMetrics(ctx context.Context, req *runtimeapi.ListPodSandboxMetricsRequest) (*runtimeapi.ListPodSandboxMetricsResponse, error) {
	return &runtimeapi.ListPodSandboxMetricsResponse{}, nil
}
