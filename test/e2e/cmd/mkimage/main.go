// Command mkimage writes a busybox-static image as a docker-save tarball (or
// pushes it to a registry), so a machine without any registry has an image
// to import and run.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"berth.dev/test/e2e/harness"
)

func main() {
	out := flag.String("o", "", "write a docker-save tarball to this path")
	ref := flag.String("ref", "berth.local/busybox:1", "image reference to tag (or push to, with -push)")
	push := flag.Bool("push", false, "push to the registry named by -ref over plain HTTP instead of writing a tarball")
	flag.Parse()
	if err := run(*out, *ref, *push); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

func run(out, ref string, push bool) error {
	img, err := harness.BuildBusybox()
	if err != nil {
		return err
	}
	if push {
		r, err := name.ParseReference(ref, name.Insecure)
		if err != nil {
			return err
		}
		return remote.Write(r, img)
	}
	if out == "" {
		return fmt.Errorf("-o or -push is required")
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(out, tag, img)
}
