// Command callbench times small calls on a containerd API socket, one
// after another: Containers.Get of a container, and with -digest
// Content.Info and Content.Read of a blob (p50 and p90). Pointed at the
// node socket and at a daemon's own, it shows what the gateway adds per
// call; the CPU each process spent is read from /proc around it
// (docs/benchmarks.md, "where a start's time goes").
//
//	callbench -sock /run/berth/berth.sock -n default -id c1 -digest sha256:...
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"sort"
	"time"

	containersapi "github.com/containerd/containerd/api/services/containers/v1"
	contentapi "github.com/containerd/containerd/api/services/content/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

func main() {
	sock := flag.String("sock", "", "socket")
	ns := flag.String("n", "default", "namespace")
	n := flag.Int("count", 300, "calls")
	id := flag.String("id", "keep", "container id")
	dgst := flag.String("digest", "", "content digest")
	flag.Parse()
	cc, err := grpc.NewClient("unix://"+*sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "containerd-namespace", *ns)
	ctrs := containersapi.NewContainersClient(cc)
	content := contentapi.NewContentClient(cc)
	run := func(name string, call func() error) {
		var lat []time.Duration
		for i := 0; i < *n; i++ {
			t := time.Now()
			if err := call(); err != nil {
				log.Fatal(err)
			}
			lat = append(lat, time.Since(t))
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		fmt.Printf("%s p50 %d µs p90 %d µs\n", name, lat[len(lat)/2].Microseconds(), lat[len(lat)*9/10].Microseconds())
	}
	run("containers.Get", func() error { _, err := ctrs.Get(ctx, &containersapi.GetContainerRequest{ID: *id}); return err })
	if *dgst != "" {
		run("content.Info", func() error { _, err := content.Info(ctx, &contentapi.InfoRequest{Digest: *dgst}); return err })
		run("content.Read", func() error {
			rc, err := content.Read(ctx, &contentapi.ReadContentRequest{Digest: *dgst})
			if err != nil {
				return err
			}
			for {
				if _, err := rc.Recv(); err != nil {
					return nil
				}
			}
		})
	}
}
