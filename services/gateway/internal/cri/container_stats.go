package cri

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/containerd/cgroups/v3/cgroup1/stats"
	v2 "github.com/containerd/cgroups/v3/cgroup2/stats"
	"github.com/containerd/containerd/api/types"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"
	"go.uber.org/zap"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"berth.dev/pkg/log"
	"berth.dev/services/gateway/internal/cri/store"
)

// ContainerStats reports one container's cgroup figures.
func (s *RuntimeService) ContainerStats(ctx context.Context, req *runtimeapi.ContainerStatsRequest) (*runtimeapi.ContainerStatsResponse, error) {
	c, err := s.Store.ResolveContainer(req.GetContainerId())
	if err != nil {
		return nil, err
	}
	metrics, err := s.metrics(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	st := containerStats(c, metrics[c.ID])
	st.WritableLayer = s.writableLayer(ctx, c.ID)
	return &runtimeapi.ContainerStatsResponse{Stats: st}, nil
}

// ListContainerStats reports the figures of the containers matching the
// filter.
func (s *RuntimeService) ListContainerStats(ctx context.Context, req *runtimeapi.ListContainerStatsRequest) (*runtimeapi.ListContainerStatsResponse, error) {
	f := req.GetFilter()
	list, err := s.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
		Id: f.GetId(), PodSandboxId: f.GetPodSandboxId(), LabelSelector: f.GetLabelSelector()}})
	if err != nil {
		return nil, err
	}
	metrics, err := s.metrics(ctx)
	if err != nil {
		return nil, err
	}
	resp := &runtimeapi.ListContainerStatsResponse{}
	for _, item := range list.Containers {
		c, err := s.Store.Container(item.Id)
		if err != nil {
			continue
		}
		st := containerStats(c, metrics[c.ID])
		st.WritableLayer = s.writableLayer(ctx, c.ID)
		resp.Stats = append(resp.Stats, st)
	}
	return resp, nil
}

// metrics asks taskd for the figures of the given tasks (every task when
// none is named), by id. A stopped container has none.
func (s *RuntimeService) metrics(ctx context.Context, ids ...string) (map[string]*types.Metric, error) {
	var filters []string
	for _, id := range ids {
		filters = append(filters, "id=="+id)
	}
	ms, err := s.Tasks.TaskMetrics(daemonCtx(ctx), filters...)
	if err != nil && !errdefs.IsNotFound(err) {
		return nil, fmt.Errorf("task metrics: %w", err)
	}
	out := map[string]*types.Metric{}
	for _, m := range ms {
		out[m.ID] = m
	}
	return out, nil
}

// layerUsageMaxAge is how long a writable layer's measure is reused:
// measuring walks the layer, and the kubelet asks every few seconds.
// containerd refreshes its figures every 10 seconds too.
const layerUsageMaxAge = 10 * time.Second

type layerUsage struct {
	at    time.Time
	usage *runtimeapi.FilesystemUsage
}

// writableLayer reports what the container wrote to its rootfs snapshot
// (the kubelet counts it against ephemeral storage), as containerd does;
// nil when snapshotd cannot say, which leaves the other figures standing.
func (s *RuntimeService) writableLayer(ctx context.Context, id string) *runtimeapi.FilesystemUsage {
	if v, ok := s.layerUsage.Load(id); ok && time.Since(v.(layerUsage).at) < layerUsageMaxAge {
		return v.(layerUsage).usage
	}
	size, inodes, err := s.Snapshots.Usage(daemonCtx(ctx), s.Snapshotter, id)
	if err != nil {
		log.G(ctx).Debug("writable layer usage", zap.String("id", id), zap.Error(err))
		return nil
	}
	u := &runtimeapi.FilesystemUsage{
		Timestamp:  time.Now().UnixNano(),
		FsId:       &runtimeapi.FilesystemIdentifier{Mountpoint: s.SnapshotsDir},
		UsedBytes:  &runtimeapi.UInt64Value{Value: uint64(size)},
		InodesUsed: &runtimeapi.UInt64Value{Value: uint64(inodes)},
	}
	s.layerUsage.Store(id, layerUsage{at: time.Now(), usage: u})
	return u
}

func containerStats(c *store.Container, m *types.Metric) *runtimeapi.ContainerStats {
	st := &runtimeapi.ContainerStats{
		Attributes: &runtimeapi.ContainerAttributes{Id: c.ID, Metadata: containerMetadata(c.Metadata), Labels: c.Labels, Annotations: c.Annotations},
	}
	cpu, mem := cgroupStats(m)
	st.Cpu, st.Memory = cpu, mem
	return st
}

// cgroupStats turns taskd's metrics (cgroup v1 or v2 figures) into CRI
// CPU and memory stats; nil metrics give zero figures stamped now.
func cgroupStats(m *types.Metric) (*runtimeapi.CpuUsage, *runtimeapi.MemoryUsage) {
	now := time.Now().UnixNano()
	cpu := &runtimeapi.CpuUsage{Timestamp: now}
	mem := &runtimeapi.MemoryUsage{Timestamp: now}
	if m == nil || m.Data == nil {
		return cpu, mem
	}
	if m.Timestamp != nil {
		cpu.Timestamp, mem.Timestamp = m.Timestamp.AsTime().UnixNano(), m.Timestamp.AsTime().UnixNano()
	}
	v, err := typeurl.UnmarshalAny(m.Data)
	if err != nil {
		return cpu, mem
	}
	switch d := v.(type) {
	case *v1.Metrics:
		cpu.UsageCoreNanoSeconds = &runtimeapi.UInt64Value{Value: d.GetCPU().GetUsage().GetTotal()}
		usage := d.GetMemory().GetUsage().GetUsage()
		inactive := d.GetMemory().GetTotalInactiveFile()
		if inactive == 0 {
			inactive = d.GetMemory().GetInactiveFile()
		}
		mem.UsageBytes = &runtimeapi.UInt64Value{Value: usage}
		mem.WorkingSetBytes = &runtimeapi.UInt64Value{Value: sub(usage, inactive)}
		mem.RssBytes = &runtimeapi.UInt64Value{Value: d.GetMemory().GetRSS()}
		mem.PageFaults = &runtimeapi.UInt64Value{Value: d.GetMemory().GetPgFault()}
		mem.MajorPageFaults = &runtimeapi.UInt64Value{Value: d.GetMemory().GetPgMajFault()}
	case *v2.Metrics:
		cpu.UsageCoreNanoSeconds = &runtimeapi.UInt64Value{Value: d.GetCPU().GetUsageUsec() * 1000}
		usage := d.GetMemory().GetUsage()
		mem.UsageBytes = &runtimeapi.UInt64Value{Value: usage}
		mem.WorkingSetBytes = &runtimeapi.UInt64Value{Value: sub(usage, d.GetMemory().GetInactiveFile())}
		mem.RssBytes = &runtimeapi.UInt64Value{Value: d.GetMemory().GetAnon()}
		mem.PageFaults = &runtimeapi.UInt64Value{Value: d.GetMemory().GetPgfault()}
		mem.MajorPageFaults = &runtimeapi.UInt64Value{Value: d.GetMemory().GetPgmajfault()}
	}
	return cpu, mem
}

func sub(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}
