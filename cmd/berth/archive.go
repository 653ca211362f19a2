package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"berth.dev/pkg/grpcclient"
	"berth.dev/pkg/namespace"
	imagesv1 "berth.dev/proto/berth/images/v1"
)

const chunk = 1 << 20

func client(address, ns string) (imagesv1.ImagesClient, context.Context, func(), error) {
	cc, err := grpcclient.Dial(address)
	if err != nil {
		return nil, nil, nil, err
	}
	return imagesv1.NewImagesClient(cc), namespace.WithNamespace(context.Background(), ns), func() { cc.Close() }, nil
}

func importArchive(address, ns string, args []string) error {
	fs := flag.NewFlagSet("import", flag.ExitOnError)
	opts := &imagesv1.ImportOptions{}
	fs.BoolVar(&opts.SkipUnpack, "skip-unpack", false, "do not unpack")
	fs.StringVar(&opts.Snapshotter, "snapshotter", "", "snapshotter to unpack into")
	fs.StringVar(&opts.Platform, "platform", "", "os/arch for archives holding an index")
	fs.Parse(args)
	if fs.NArg() != 1 {
		return fmt.Errorf("import takes one archive")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	c, ctx, done, err := client(address, ns)
	if err != nil {
		return err
	}
	defer done()
	stream, err := c.Import(ctx)
	if err != nil {
		return err
	}
	buf := make([]byte, chunk)
	first := &imagesv1.ImportChunk{Options: opts}
	for {
		n, err := f.Read(buf)
		if n > 0 {
			first.Data = buf[:n]
			if serr := stream.Send(first); serr != nil {
				return serr
			}
			first = &imagesv1.ImportChunk{}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return err
	}
	for _, n := range resp.Names {
		fmt.Println(n)
	}
	return nil
}

func exportArchive(address, ns string, args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("export takes a file and image names")
	}
	c, ctx, done, err := client(address, ns)
	if err != nil {
		return err
	}
	defer done()
	stream, err := c.Export(ctx, &imagesv1.ExportRequest{Names: args[1:]})
	if err != nil {
		return err
	}
	tmp := args[0] + ".partial"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			f.Close()
			return err
		}
		if _, err := f.Write(msg.Data); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, args[0])
}
