// Command scalebench drives scripts/bench/scale: it starts many containers
// on a containerd-compatible socket (Berth's node socket or containerd's),
// times the task and container List calls of two sockets side by side,
// waits until a restarted runtime lists every task running again, and
// removes what it started. It talks gRPC directly so that the figures are
// the runtimes' own, without a ctr process start in each.
//
//	scalebench start   -address A -namespace N -image REF -count 500 [-no-task]
//	scalebench latency -address A -address2 B -namespace N -rounds 20
//	scalebench wait    -address A -namespace N -running 500 -since UNIXNANO
//	scalebench clean   -address A -namespace N
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	tasksapi "github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/api/types/task"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"

	"berth.dev/test/e2e/cmd/internal/figures"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: scalebench start|latency|wait|clean [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	address := fs.String("address", "", "socket of the runtime")
	address2 := fs.String("address2", "", "latency: socket of the runtime to compare with")
	ns := fs.String("namespace", "default", "namespace")
	image := fs.String("image", "", "start: image reference (already imported)")
	count := fs.Int("count", 500, "start: containers to start")
	parallel := fs.Int("parallel", 2, "start and clean: calls in flight")
	noTask := fs.Bool("no-task", false, "start: create the containers only")
	rounds := fs.Int("rounds", 20, "latency: calls of each kind")
	running := fs.Int("running", 500, "wait: tasks that must be listed running")
	since := fs.Int64("since", 0, "wait: unix nanoseconds to measure from (default now)")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after this long")
	fs.Parse(os.Args[2:])
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), *ns), *timeout)
	defer cancel()
	var err error
	switch os.Args[1] {
	case "start":
		err = start(ctx, *address, *image, *count, *parallel, !*noTask)
	case "latency":
		err = latency(ctx, *address, *address2, *rounds)
	case "wait":
		err = wait(ctx, *address, *running, *since)
	case "clean":
		err = clean(ctx, *address, *parallel)
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "scalebench:", err)
		os.Exit(1)
	}
}

func dial(address string) (*containerd.Client, error) {
	return containerd.New(address, containerd.WithTimeout(10*time.Second))
}

// start runs count containers of `sleep` from image, parallel at a time.
func start(ctx context.Context, address, ref string, count, parallel int, withTask bool) error {
	client, err := dial(address)
	if err != nil {
		return err
	}
	defer client.Close()
	img, err := client.GetImage(ctx, ref)
	if err != nil {
		return err
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, parallel)
	t0 := time.Now()
	for w := 0; w < parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i > count || ctx.Err() != nil {
					return
				}
				if err := startOne(ctx, client, img, fmt.Sprintf("scale-%d", i), withTask); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	fmt.Printf("started %d containers in %.1f s\n", count, time.Since(t0).Seconds())
	return nil
}

func startOne(ctx context.Context, client *containerd.Client, img containerd.Image, id string, withTask bool) error {
	ctr, err := client.NewContainer(ctx, id, containerd.WithNewSnapshot(id+"-snap", img),
		containerd.WithNewSpec(oci.WithImageConfig(img), oci.WithProcessArgs("sleep", "100000")))
	if err != nil {
		return fmt.Errorf("container %s: %w", id, err)
	}
	if !withTask {
		return nil
	}
	t, err := ctr.NewTask(ctx, cio.NullIO)
	if err != nil {
		return fmt.Errorf("task %s: %w", id, err)
	}
	if err := t.Start(ctx); err != nil {
		return fmt.Errorf("start %s: %w", id, err)
	}
	return nil
}

// latency times the task and container List calls of address and, if
// given, address2, alternating, and prints the medians in milliseconds.
func latency(ctx context.Context, address, address2 string, rounds int) error {
	addrs := []string{address}
	if address2 != "" {
		addrs = append(addrs, address2)
	}
	var clients []*containerd.Client
	for _, a := range addrs {
		c, err := dial(a)
		if err != nil {
			return err
		}
		defer c.Close()
		clients = append(clients, c)
	}
	tasks := make([][]float64, len(clients))
	ctrs := make([][]float64, len(clients))
	ntasks := make([]int, len(clients))
	nctrs := make([]int, len(clients))
	for r := 0; r < rounds; r++ {
		for i, c := range clients {
			t0 := time.Now()
			resp, err := c.TaskService().List(ctx, &tasksapi.ListTasksRequest{})
			if err != nil {
				return err
			}
			tasks[i] = append(tasks[i], figures.Ms(time.Since(t0)))
			ntasks[i] = len(resp.Tasks)
			t0 = time.Now()
			cs, err := c.ContainerService().List(ctx)
			if err != nil {
				return err
			}
			ctrs[i] = append(ctrs[i], figures.Ms(time.Since(t0)))
			nctrs[i] = len(cs)
		}
	}
	for i, a := range addrs {
		fmt.Printf("%s: task list %.2f ms (%d tasks), container list %.2f ms (%d containers), median of %d\n",
			a, figures.Median(tasks[i]), ntasks[i], figures.Median(ctrs[i]), nctrs[i], rounds)
	}
	return nil
}

// wait polls the task list until running tasks are listed running and
// prints how long that took since since.
func wait(ctx context.Context, address string, running int, since int64) error {
	t0 := time.Now()
	if since != 0 {
		t0 = time.Unix(0, since)
	}
	client, err := dial(address)
	if err != nil {
		return err
	}
	defer client.Close()
	last := ""
	for {
		resp, err := client.TaskService().List(ctx, &tasksapi.ListTasksRequest{})
		if err == nil {
			n := 0
			for _, t := range resp.Tasks {
				if t.Status == task.Status_RUNNING {
					n++
				}
			}
			if n >= running {
				fmt.Printf("%d tasks listed running %.0f ms after %s\n", n, figures.Ms(time.Since(t0)), t0.Format("15:04:05.000"))
				return nil
			}
			last = strconv.Itoa(n) + " running"
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("still not %d running (last: %s): %w", running, last, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// clean kills and deletes every task of the namespace and deletes its
// containers with their snapshots.
func clean(ctx context.Context, address string, parallel int) error {
	client, err := dial(address)
	if err != nil {
		return err
	}
	defer client.Close()
	cs, err := client.Containers(ctx)
	if err != nil {
		return err
	}
	work := make(chan containerd.Container)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for w := 0; w < parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				if err := cleanOne(ctx, c); err != nil {
					failed.Add(1)
					fmt.Fprintf(os.Stderr, "scalebench: remove %s: %v\n", c.ID(), err)
				}
			}
		}()
	}
	for _, c := range cs {
		work <- c
	}
	close(work)
	wg.Wait()
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("%d of %d containers not removed", n, len(cs))
	}
	return nil
}

func cleanOne(ctx context.Context, c containerd.Container) error {
	t, err := c.Task(ctx, nil)
	if err == nil {
		if _, err := t.Delete(ctx, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			return err
		}
	} else if !errdefs.IsNotFound(err) {
		return err
	}
	return c.Delete(ctx, containerd.WithSnapshotCleanup)
}
