package task

import (
	"context"
	"encoding/json"
	"fmt"

	v1 "github.com/containerd/cgroups/v3/cgroup1/stats"
	"github.com/containerd/containerd/api/types"
	runc "github.com/containerd/go-runc"
	"github.com/containerd/typeurl/v2"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Metrics returns the task's cgroup figures in the shape `ctr task metrics`
// prints: containerd's cgroup v1 or v2 metrics message, read from the
// cgroup; for a cgroup only the runtime can find (systemd's), the runtime's
// `events --stats` in the v1 message (runc reports the same figures on v1
// and v2 hosts).
func (m *Manager) Metrics(ctx context.Context, id string) (*types.Metric, error) {
	t, err := m.get(ctx, id)
	if err != nil {
		return nil, err
	}
	if st, ok, err := cgroupMetrics(t.Bundle); ok {
		if err != nil {
			return nil, err
		}
		data, err := typeurl.MarshalAnyToProto(st)
		if err != nil {
			return nil, err
		}
		return &types.Metric{Timestamp: timestamppb.Now(), ID: id, Data: data}, nil
	}
	raw, err := t.shim.Stats()
	if err != nil {
		return nil, t.gone(err)
	}
	var st runc.Stats
	if err := json.Unmarshal(raw.JSON, &st); err != nil {
		return nil, fmt.Errorf("runc stats: %w", err)
	}
	data, err := typeurl.MarshalAnyToProto(toMetrics(&st))
	if err != nil {
		return nil, err
	}
	return &types.Metric{Timestamp: timestamppb.Now(), ID: id, Data: data}, nil
}

func entry(e runc.MemoryEntry) *v1.MemoryEntry {
	return &v1.MemoryEntry{Limit: e.Limit, Usage: e.Usage, Max: e.Max, Failcnt: e.Failcnt}
}

func toMetrics(st *runc.Stats) *v1.Metrics {
	raw := st.Memory.Raw
	return &v1.Metrics{
		Pids: &v1.PidsStat{Current: st.Pids.Current, Limit: st.Pids.Limit},
		CPU: &v1.CPUStat{
			Usage: &v1.CPUUsage{Total: st.Cpu.Usage.Total, Kernel: st.Cpu.Usage.Kernel, User: st.Cpu.Usage.User, PerCPU: st.Cpu.Usage.Percpu},
			Throttling: &v1.Throttle{Periods: st.Cpu.Throttling.Periods, ThrottledPeriods: st.Cpu.Throttling.ThrottledPeriods,
				ThrottledTime: st.Cpu.Throttling.ThrottledTime},
		},
		Memory: &v1.MemoryStat{
			Cache: st.Memory.Cache, RSS: raw["rss"], RSSHuge: raw["rss_huge"], MappedFile: raw["mapped_file"],
			Dirty: raw["dirty"], Writeback: raw["writeback"], PgFault: raw["pgfault"], PgMajFault: raw["pgmajfault"],
			InactiveAnon: raw["inactive_anon"], ActiveAnon: raw["active_anon"], InactiveFile: raw["inactive_file"],
			ActiveFile: raw["active_file"], Unevictable: raw["unevictable"],
			Usage: entry(st.Memory.Usage), Swap: entry(st.Memory.Swap), Kernel: entry(st.Memory.Kernel), KernelTCP: entry(st.Memory.KernelTCP),
		},
	}
}
