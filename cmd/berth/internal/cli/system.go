package cli

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/types/known/emptypb"

	"berth.dev/cmd/berth/internal/format"
)

func newSystem(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "system", Short: "The node: daemons' health and disk use"}
	c.AddCommand(newSystemInfo(g), newSystemDf(g))
	return c
}

// daemonInfo is one daemon as `system info` shows it.
type daemonInfo struct {
	Name    string `json:"name"`
	Socket  string `json:"socket"`
	Health  string `json:"health"`
	Store   string `json:"store"`
	Size    int64  `json:"storeSize"`
	Version string `json:"version"`
}

// nodeInfo is what `system info` prints.
type nodeInfo struct {
	Address   string       `json:"address"`
	Namespace string       `json:"namespace"`
	Version   string       `json:"version"`
	Revision  string       `json:"revision"`
	Daemons   []daemonInfo `json:"daemons"`
	NATS      string       `json:"nats"`
	Plugins   int          `json:"plugins"`
	Broken    []string     `json:"pluginsWithErrors,omitempty"`
}

func health(ctx context.Context, socket string) string {
	if _, err := os.Stat(socket); err != nil {
		return "no socket"
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	cc, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return "error: " + err.Error()
	}
	defer cc.Close()
	resp, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return "not answering"
	}
	return strings.ToLower(resp.Status.String())
}

func dirSize(dir string) int64 {
	var total int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			// Blocks, not lengths: badger preallocates sparse files.
			if info, err := d.Info(); err == nil {
				if st, ok := info.Sys().(*syscall.Stat_t); ok {
					total += st.Blocks * 512
				} else {
					total += info.Size()
				}
			}
		}
		return nil
	})
	return total
}

// natsState says where the event bus is and whether it answers.
func natsState(state string) string {
	addr := os.Getenv("BERTH_NATS_URL")
	where := "external"
	if addr == "" {
		data, err := os.ReadFile(filepath.Join(state, "nats.url"))
		if err != nil {
			return "unknown (no " + filepath.Join(state, "nats.url") + ")"
		}
		addr, where = strings.TrimSpace(string(data)), "embedded in the gateway"
	}
	host := addr
	if u, err := url.Parse(strings.Split(addr, ",")[0]); err == nil && u.Host != "" {
		host = u.Host
	}
	conn, err := net.DialTimeout("tcp", host, 2*time.Second)
	if err != nil {
		return fmt.Sprintf("%s, %s, not reachable: %v", where, addr, err)
	}
	conn.Close()
	return fmt.Sprintf("%s, %s, reachable", where, addr)
}

func newSystemInfo(g *globals) *cobra.Command {
	var out outputFlags
	c := &cobra.Command{
		Use:   "info",
		Short: "Every daemon's health, socket, store size and version; NATS; plugins",
		Args:  cobra.NoArgs,
		RunE: g.withClient(func(ctx context.Context, client *containerd.Client, _ []string) error {
			info := nodeInfo{Address: g.address, Namespace: g.namespace}
			if v, err := client.VersionService().Version(ctx, &emptypb.Empty{}); err == nil {
				info.Version, info.Revision = v.Version, v.Revision
			}
			state := g.stateDir()
			for _, d := range []string{"gateway", "imaged", "snapshotd", "taskd"} {
				sock := filepath.Join(state, d+".sock")
				if d == "gateway" {
					sock = g.address
				}
				store := filepath.Join(rootDir(), d)
				di := daemonInfo{Name: d, Socket: sock, Health: health(ctx, sock), Store: store, Size: dirSize(store), Version: info.Version}
				info.Daemons = append(info.Daemons, di)
			}
			info.NATS = natsState(state)
			if resp, err := client.IntrospectionService().Plugins(ctx); err == nil {
				info.Plugins = len(resp.Plugins)
				for _, p := range resp.Plugins {
					if p.InitErr != nil {
						info.Broken = append(info.Broken, p.Type+"."+p.ID+": "+p.InitErr.Message)
					}
				}
			}
			if out.format == "json" {
				return format.JSON(g.stdout, info)
			}
			fmt.Fprintf(g.stdout, "Node socket:  %s\nNamespace:    %s\nVersion:      %s (%s)\nNATS:         %s\nPlugins:      %d (%d with errors)\n\n",
				info.Address, info.Namespace, info.Version, info.Revision, info.NATS, info.Plugins, len(info.Broken))
			t := format.NewTable(g.stdout, "DAEMON", "HEALTH", "VERSION", "SOCKET", "STORE", "SIZE")
			for _, d := range info.Daemons {
				t.Row(d.Name, d.Health, d.Version, d.Socket, d.Store, format.Size(d.Size))
			}
			t.Flush()
			for _, b := range info.Broken {
				fmt.Fprintf(g.stdout, "plugin error: %s\n", b)
			}
			return nil
		}),
	}
	c.Flags().StringVar(&out.format, "format", "table", "table or json")
	return c
}

func newSystemDf(g *globals) *cobra.Command {
	var out outputFlags
	c := &cobra.Command{
		Use:   "df",
		Short: "Disk used by images, containers and logs in the namespace",
		Args:  cobra.NoArgs,
		RunE: g.withClient(func(ctx context.Context, client *containerd.Client, _ []string) error {
			type row struct {
				Type  string `json:"type"`
				Total int    `json:"total"`
				Size  int64  `json:"size"`
			}
			imgs, err := client.ImageService().List(ctx)
			if err != nil {
				return err
			}
			var blobs int64
			client.ContentStore().Walk(ctx, func(i content.Info) error { blobs += i.Size; return nil })
			cs, err := client.Containers(ctx)
			if err != nil {
				return err
			}
			var rw, logs int64
			for _, ct := range cs {
				info, err := ct.Info(ctx)
				if err != nil {
					continue
				}
				if u, err := client.SnapshotService(info.Snapshotter).Usage(ctx, info.SnapshotKey); err == nil {
					rw += u.Size
				}
				if p := info.Labels[labelLogPath]; p != "" {
					if st, err := os.Stat(p); err == nil {
						logs += st.Size()
					}
				}
			}
			rows := []row{{"Images", len(imgs), blobs}, {"Containers", len(cs), rw}, {"Logs", len(cs), logs}}
			return printRows(&out, g, rows, func(r row) string { return r.Type }, func(t *format.Table) {
				for _, r := range rows {
					t.Row(r.Type, r.Total, format.Size(r.Size))
				}
			}, "TYPE", "TOTAL", "SIZE")
		}),
	}
	out.add(c, "types")
	return c
}
