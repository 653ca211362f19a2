package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"berth.dev/cmd/berth/internal/progress"
	imagesv1 "berth.dev/proto/berth/images/v1"
)

func newPull(g *globals) *cobra.Command {
	req := &imagesv1.PullRequest{}
	var quiet bool
	c := &cobra.Command{
		Use:   "pull [flags] REF",
		Short: "Pull an image from a registry, showing each layer's progress",
		Long: `Pull an image inside the node (berth.images.v1 Pull): layers download in
parallel and are unpacked as they arrive. On a terminal each layer gets a
live bar; otherwise one line per layer event is printed.
Mirrors, TLS and credentials come from the node's hosts.toml and auth file.`,
		Example: "  berth pull docker.io/library/busybox:1.36\n  berth pull --plain-http 127.0.0.1:5000/app:1",
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			req.Ref = args[0]
			return pull(c, g, req, quiet)
		},
	}
	f := c.Flags()
	f.StringVar(&req.Platform, "platform", "", "os/arch[/variant] to pull (default: the node's)")
	f.StringVar(&req.Snapshotter, "snapshotter", "", "snapshotter to unpack into (default overlayfs)")
	f.BoolVar(&req.SkipUnpack, "skip-unpack", false, "download only")
	f.BoolVar(&req.PlainHttp, "plain-http", false, "talk http:// to a registry without TLS")
	f.BoolVarP(&quiet, "quiet", "q", false, "print only the image name")
	return c
}

type renderer interface {
	Update(*imagesv1.PullProgress, time.Time)
	Finish(*imagesv1.PullProgress, time.Time)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func pull(c *cobra.Command, g *globals, req *imagesv1.PullRequest, quiet bool) error {
	cc, ctx, err := g.dialBerth(c.Context())
	if err != nil {
		return err
	}
	defer cc.Close()
	stream, err := imagesv1.NewImagesClient(cc).Pull(ctx, req)
	if err != nil {
		return err
	}
	var r renderer = progress.NewPlain(g.stdout)
	if isTerminal(g.stdout) {
		r = progress.NewBars(g.stdout)
	}
	var last *imagesv1.PullProgress
	for {
		p, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return pullError(req.Ref, err)
		}
		if !quiet {
			r.Update(p, time.Now())
		}
		last = p
	}
	if last == nil {
		return fmt.Errorf("pull %s: the node sent no progress", req.Ref)
	}
	if quiet {
		fmt.Fprintln(g.stdout, last.Name)
		return nil
	}
	r.Finish(last, time.Now())
	fmt.Fprintf(g.stdout, "%s %s\n", last.Name, last.TargetDigest)
	return nil
}
