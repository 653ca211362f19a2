package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	imagesv1 "berth.dev/proto/berth/images/v1"
)

const chunk = 1 << 20

func newImportCmd(g *globals) *cobra.Command {
	opts := &imagesv1.ImportOptions{}
	c := &cobra.Command{
		Use:   "import [flags] FILE.tar",
		Short: "Import an image archive (OCI layout or docker save); - reads stdin",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var in io.Reader = g.stdin
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			}
			cc, ctx, err := g.dialBerth(c.Context())
			if err != nil {
				return err
			}
			defer cc.Close()
			stream, err := imagesv1.NewImagesClient(cc).Import(ctx)
			if err != nil {
				return err
			}
			buf := make([]byte, chunk)
			first := &imagesv1.ImportChunk{Options: opts}
			for {
				n, err := in.Read(buf)
				if n > 0 {
					first.Data = buf[:n]
					if serr := stream.Send(first); serr != nil {
						if _, rerr := stream.CloseAndRecv(); rerr != nil {
							return rerr
						}
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
				fmt.Fprintln(g.stdout, n)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&opts.SkipUnpack, "skip-unpack", false, "do not unpack")
	c.Flags().StringVar(&opts.Snapshotter, "snapshotter", "", "snapshotter to unpack into")
	c.Flags().StringVar(&opts.Platform, "platform", "", "os/arch for archives holding an index")
	return c
}

func newExportCmd(g *globals) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "export [flags] [FILE.tar] IMAGE...",
		Short: "Export images as an OCI layout tar (-o FILE, or FILE before the images)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if output == "" && len(args) > 1 {
				output, args = args[0], args[1:]
			}
			if output == "" {
				return usageError{fmt.Errorf("export needs a file: -o FILE.tar (or - for stdout)")}
			}
			return export(c, g, output, args)
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "", "file to write (- for stdout)")
	return c
}

func export(c *cobra.Command, g *globals, output string, names []string) error {
	cc, ctx, err := g.dialBerth(c.Context())
	if err != nil {
		return err
	}
	defer cc.Close()
	stream, err := imagesv1.NewImagesClient(cc).Export(ctx, &imagesv1.ExportRequest{Names: names})
	if err != nil {
		return err
	}
	var w io.Writer = g.stdout
	var f *os.File
	tmp := output + ".partial"
	if output != "-" {
		if f, err = os.Create(tmp); err != nil {
			return err
		}
		defer os.Remove(tmp)
		defer f.Close()
		w = f
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if _, err := w.Write(msg.Data); err != nil {
			return err
		}
	}
	if f == nil {
		return nil
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, output)
}
