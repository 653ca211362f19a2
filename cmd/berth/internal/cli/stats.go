package cli

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/containerd/cgroups/v3/cgroup1/stats"
	v2 "github.com/containerd/cgroups/v3/cgroup2/stats"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/typeurl/v2"
	"github.com/spf13/cobra"

	"berth.dev/cmd/berth/internal/format"
)

// usage is one sample of a container's resources.
type usage struct {
	ID         string  `json:"id"`
	CPUPercent float64 `json:"cpuPercent"`
	Memory     uint64  `json:"memory"`
	MemLimit   uint64  `json:"memoryLimit"`
	Pids       uint64  `json:"pids"`
	cpuNanos   uint64
	at         time.Time
}

func sample(ctx context.Context, ct containerd.Container) (usage, error) {
	u := usage{ID: ct.ID(), at: time.Now()}
	task, err := ct.Task(ctx, nil)
	if err != nil {
		return u, err
	}
	m, err := task.Metrics(ctx)
	if err != nil {
		return u, err
	}
	data, err := typeurl.UnmarshalAny(m.Data)
	if err != nil {
		return u, err
	}
	switch s := data.(type) {
	case *v1.Metrics:
		if s.CPU != nil && s.CPU.Usage != nil {
			u.cpuNanos = s.CPU.Usage.Total
		}
		if s.Memory != nil && s.Memory.Usage != nil {
			u.Memory, u.MemLimit = s.Memory.Usage.Usage, s.Memory.Usage.Limit
		}
		if s.Pids != nil {
			u.Pids = s.Pids.Current
		}
	case *v2.Metrics:
		if s.CPU != nil {
			u.cpuNanos = s.CPU.UsageUsec * 1000
		}
		if s.Memory != nil {
			u.Memory, u.MemLimit = s.Memory.Usage, s.Memory.UsageLimit
		}
		if s.Pids != nil {
			u.Pids = s.Pids.Current
		}
	default:
		return u, fmt.Errorf("metrics of type %T", data)
	}
	return u, nil
}

func newStats(g *globals) *cobra.Command {
	var noStream bool
	var out outputFlags
	c := &cobra.Command{
		Use:   "stats [flags] [CONTAINER...]",
		Short: "Show running containers' CPU, memory and process counts, live",
		RunE: g.withClient(func(ctx context.Context, client *containerd.Client, args []string) error {
			prev := map[string]usage{}
			collect := func() ([]usage, error) {
				cs, err := statTargets(ctx, client, args)
				if err != nil {
					return nil, err
				}
				var rows []usage
				for _, ct := range cs {
					u, err := sample(ctx, ct)
					if err != nil {
						continue
					}
					if p, ok := prev[u.ID]; ok && u.at.After(p.at) && u.cpuNanos >= p.cpuNanos {
						u.CPUPercent = float64(u.cpuNanos-p.cpuNanos) / float64(u.at.Sub(p.at).Nanoseconds()) * 100
					}
					prev[u.ID] = u
					rows = append(rows, u)
				}
				return rows, nil
			}
			print := func(rows []usage) error {
				return printRows(&out, g, rows, func(u usage) string { return u.ID }, func(t *format.Table) {
					for _, u := range rows {
						limit := "-"
						if u.MemLimit > 0 && u.MemLimit < 1<<62 {
							limit = format.BinarySize(u.MemLimit)
						}
						t.Row(u.ID, fmt.Sprintf("%.2f%%", u.CPUPercent), format.BinarySize(u.Memory)+" / "+limit, u.Pids)
					}
				}, "NAME", "CPU %", "MEM USAGE / LIMIT", "PIDS")
			}
			live := !noStream && out.format != "json" && isTerminal(g.stdout)
			// CPU use is the difference between two samples.
			if _, err := collect(); err != nil {
				return err
			}
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(time.Second):
				}
				rows, err := collect()
				if err != nil {
					return err
				}
				if !live {
					return print(rows)
				}
				fmt.Fprint(g.stdout, "\x1b[H\x1b[2J")
				if err := print(rows); err != nil {
					return err
				}
			}
		}),
	}
	c.Flags().BoolVar(&noStream, "no-stream", false, "print one sample and exit (the default when not on a terminal)")
	out.add(c, "container names")
	return c
}

// statTargets are the named containers, or every running one.
func statTargets(ctx context.Context, client *containerd.Client, ids []string) ([]containerd.Container, error) {
	if len(ids) == 0 {
		all, err := client.Containers(ctx)
		if err != nil {
			return nil, err
		}
		var out []containerd.Container
		for _, ct := range all {
			if running(ctx, ct) {
				out = append(out, ct)
			}
		}
		return out, nil
	}
	var out []containerd.Container
	for _, id := range ids {
		ct, err := loadContainer(ctx, client, id)
		if err != nil {
			return nil, err
		}
		out = append(out, ct)
	}
	return out, nil
}
