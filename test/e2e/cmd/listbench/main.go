// Command listbench times container lists against containerd-compatible
// sockets, alternating between them: each round a task list, then a
// container list right after it (ListStream through containerd's client,
// which converts each message, or unary List, in turn), then, after a
// pause, each kind again. It tells the cost of a list apart from what a
// task list just before it leaves behind (scripts/bench/scale calls them
// back to back). With -loop it only repeats one kind on the first socket,
// for profiling.
//
//	listbench -addresses A,B -namespace N -rounds 20 [-gap 100ms]
//	listbench -addresses A -namespace N -loop 200 -kind stream|unary|task+stream|task+unary
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	containersapi "github.com/containerd/containerd/api/services/containers/v1"
	tasksapi "github.com/containerd/containerd/api/services/tasks/v1"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"google.golang.org/grpc"

	"berth.dev/test/e2e/cmd/internal/figures"
)

func main() {
	addrs := flag.String("addresses", "", "comma-separated sockets")
	ns := flag.String("namespace", "default", "namespace")
	rounds := flag.Int("rounds", 20, "rounds")
	gap := flag.Duration("gap", 100*time.Millisecond, "pause before the lists that follow no task list")
	loop := flag.Int("loop", 0, "only: this many lists of -kind on the first address")
	kind := flag.String("kind", "stream", "stream, unary, task, task+stream")
	flag.Parse()
	must := func(err error) {
		if err != nil {
			fmt.Fprintln(os.Stderr, "listbench:", err)
			os.Exit(1)
		}
	}
	ctx := namespaces.WithNamespace(context.Background(), *ns)
	as := strings.Split(*addrs, ",")
	var cs []*containerd.Client
	for _, a := range as {
		c, err := containerd.New(a, containerd.WithTimeout(10*time.Second))
		must(err)
		cs = append(cs, c)
	}
	if *loop > 0 {
		c := cs[0]
		cc := containersapi.NewContainersClient(c.Conn().(grpc.ClientConnInterface))
		var v []float64
		for i := 0; i < *loop; i++ {
			if strings.HasPrefix(*kind, "task") {
				if _, err := c.TaskService().List(ctx, &tasksapi.ListTasksRequest{}); err != nil {
					must(err)
				}
			}
			t0 := time.Now()
			var err error
			switch {
			case strings.HasSuffix(*kind, "stream"):
				_, err = c.ContainerService().List(ctx)
			case strings.HasSuffix(*kind, "unary"):
				_, err = cc.List(ctx, &containersapi.ListContainersRequest{})
			}
			must(err)
			v = append(v, figures.Ms(time.Since(t0)))
		}
		fmt.Printf("%s %s median %.2f ms\n", as[0], *kind, figures.Median(v))
		return
	}
	kinds := []string{"task", "stream-after", "unary-after", "stream-idle", "unary-idle"}
	res := make([]map[string][]float64, len(cs))
	for i := range res {
		res[i] = map[string][]float64{}
	}
	for r := 0; r < *rounds; r++ {
		for i, c := range cs {
			cc := containersapi.NewContainersClient(c.Conn().(grpc.ClientConnInterface))
			t0 := time.Now()
			_, err := c.TaskService().List(ctx, &tasksapi.ListTasksRequest{})
			must(err)
			res[i]["task"] = append(res[i]["task"], figures.Ms(time.Since(t0)))
			if r%2 == 0 {
				t0 = time.Now()
				_, err = c.ContainerService().List(ctx)
				must(err)
				res[i]["stream-after"] = append(res[i]["stream-after"], figures.Ms(time.Since(t0)))
			} else {
				t0 = time.Now()
				_, err = cc.List(ctx, &containersapi.ListContainersRequest{})
				must(err)
				res[i]["unary-after"] = append(res[i]["unary-after"], figures.Ms(time.Since(t0)))
			}
			time.Sleep(*gap)
			t0 = time.Now()
			_, err = c.ContainerService().List(ctx)
			must(err)
			res[i]["stream-idle"] = append(res[i]["stream-idle"], figures.Ms(time.Since(t0)))
			time.Sleep(*gap)
			t0 = time.Now()
			_, err = cc.List(ctx, &containersapi.ListContainersRequest{})
			must(err)
			res[i]["unary-idle"] = append(res[i]["unary-idle"], figures.Ms(time.Since(t0)))
			time.Sleep(*gap)
		}
	}
	l, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("load %s", l) // medians in ms follow
	for i, a := range as {
		fmt.Printf("%-60s", a)
		for _, k := range kinds {
			fmt.Printf(" %s %.1f", k, figures.Median(res[i][k]))
		}
		fmt.Println()
	}
}
