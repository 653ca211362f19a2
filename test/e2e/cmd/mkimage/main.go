// Command mkimage writes a busybox-static image as a docker-save tarball (or
// pushes it to a registry), so a machine without any registry has an image
// to import and run; with -random-layers it makes the random-data images
// the pull benchmarks use.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"berth.dev/test/e2e/harness"
)

func main() {
	out := flag.String("o", "", "write a docker-save tarball to this path")
	ref := flag.String("ref", "berth.local/busybox:1", "image reference to tag (or push to, with -push)")
	push := flag.Bool("push", false, "push to the registry named by -ref over plain HTTP instead of writing a tarball")
	layers := flag.Int("random-layers", 0, "instead of busybox, an image of this many layers of random data")
	layerMB := flag.Int64("layer-mb", 60, "size of each random layer in MiB")
	flag.Parse()
	build := harness.BuildBusybox
	if *layers > 0 {
		build = func() (v1.Image, error) { return random.Image(*layerMB<<20, int64(*layers)) }
	}
	if err := run(build, *out, *ref, *push); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

func run(build func() (v1.Image, error), out, ref string, push bool) error {
	img, err := build()
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
