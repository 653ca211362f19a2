// Command berth is Berth's own client for what containerd's API and ctr do
// not cover: pulls, imports and exports that run inside imaged.
//
//	berth [--address /run/berth/berth.sock] [--namespace default] pull [--platform os/arch] [--snapshotter overlayfs] REF
//	berth ... import [--skip-unpack] FILE.tar
//	berth ... export FILE.tar NAME...
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"berth.dev/pkg/grpcclient"
	"berth.dev/pkg/namespace"
	imagesv1 "berth.dev/proto/berth/images/v1"
)

func main() {
	address := flag.String("address", "/run/berth/berth.sock", "node socket")
	ns := flag.String("namespace", namespace.Default, "namespace")
	flag.Parse()
	commands := map[string]func(string, string, []string) error{"pull": pull, "import": importArchive, "export": exportArchive}
	cmd, ok := commands[flag.Arg(0)]
	if !ok {
		fmt.Fprintln(os.Stderr, "usage: berth [--address SOCKET] [--namespace NS] pull|import|export ...")
		os.Exit(2)
	}
	if err := cmd(*address, *ns, flag.Args()[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "berth:", err)
		os.Exit(1)
	}
}

func pull(address, ns string, args []string) error {
	fs := flag.NewFlagSet("pull", flag.ExitOnError)
	req := &imagesv1.PullRequest{}
	fs.StringVar(&req.Platform, "platform", "", "os/arch[/variant] (default: this node's)")
	fs.StringVar(&req.Snapshotter, "snapshotter", "", "snapshotter to unpack into (default overlayfs)")
	fs.BoolVar(&req.SkipUnpack, "skip-unpack", false, "download only")
	quiet := fs.Bool("q", false, "print only the image name when done")
	verbose := fs.Bool("v", false, "print every layer state change with the time since the start")
	fs.Parse(args)
	if fs.NArg() != 1 {
		return fmt.Errorf("pull takes one reference")
	}
	req.Ref = fs.Arg(0)
	cc, err := grpcclient.Dial(address)
	if err != nil {
		return err
	}
	defer cc.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stream, err := imagesv1.NewImagesClient(cc).Pull(namespace.WithNamespace(ctx, ns), req)
	if err != nil {
		return err
	}
	var last *imagesv1.PullProgress
	start := time.Now()
	states := map[string]string{}
	for {
		p, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if !*quiet && (last == nil || p.Status != last.Status) {
			fmt.Printf("%s: %s\n", p.Name, p.Status)
		}
		if *verbose {
			for _, l := range p.Layers {
				if states[l.Digest] != l.State {
					states[l.Digest] = l.State
					fmt.Printf("%6dms %s %s\n", time.Since(start).Milliseconds(), l.Digest[7:19], l.State)
				}
			}
		}
		last = p
	}
	if last == nil {
		return fmt.Errorf("no progress received")
	}
	if !*quiet {
		for _, l := range last.Layers {
			fmt.Printf("  %s %d bytes %s\n", l.Digest, l.Size, l.State)
		}
	}
	fmt.Println(last.Name, last.TargetDigest)
	return nil
}
