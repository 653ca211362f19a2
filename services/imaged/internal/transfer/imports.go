package transfer

import (
	"context"
	"fmt"
	"strings"

	transfertypes "github.com/containerd/containerd/api/types/transfer"
	"github.com/containerd/errdefs"

	"berth.dev/services/imaged/internal/archive"
	"berth.dev/services/imaged/internal/pull"
	"berth.dev/services/imaged/internal/stream"
)

// importArchive reads an archive (OCI layout or docker save) from the
// client's stream into the image store, naming images as containerd's
// transfer service does.
func (s *Service) importArchive(ctx context.Context, src *transfertypes.ImageImportStream, dst *transfertypes.ImageStore, pr *progress) error {
	if dst.Name != "" {
		return fmt.Errorf("import naming the archive's index (%q): %w", dst.Name, errdefs.ErrNotImplemented)
	}
	st, err := s.Streams.Get(ctx, src.Stream)
	if err != nil {
		return fmt.Errorf("import stream: %w", err)
	}
	r := stream.Reader(st)
	defer r.Close()
	plat, err := pull.ParsePlatform(unpackPlatform(dst))
	if err != nil {
		return err
	}
	pr.event("Importing")
	imgs, cleanup, err := archive.Read(r, s.Tmp, plat)
	if err != nil {
		return err
	}
	defer cleanup()
	snapshotter, skipUnpack := "", len(dst.Unpacks) == 0
	if !skipUnpack {
		snapshotter = dst.Unpacks[0].Snapshotter
	}
	stored := 0
	for _, img := range imgs {
		for _, n := range importNames(dst, img) {
			if err := s.Puller.Store(ctx, n, img.Image, snapshotter, skipUnpack, dst.Labels); err != nil {
				return fmt.Errorf("import %s: %w", n, err)
			}
			mt, _ := img.Image.MediaType()
			pr.send(&transfertypes.Progress{Event: "saved", Name: n, Desc: descriptor(string(mt), img.Digest.String(), 0)})
			stored++
		}
	}
	if stored == 0 {
		return fmt.Errorf("no image name found in the archive: %w", errdefs.ErrNotFound)
	}
	pr.event("Completed import")
	return nil
}

// importNames applies containerd's naming of an imported image: under
// each prefix reference, the archive's full name (io.containerd.image.name)
// when it is allowed, else the prefix with the archive's tag
// (org.opencontainers.image.ref.name), and prefix@digest when asked.
func importNames(dst *transfertypes.ImageStore, img archive.Image) []string {
	var out []string
	for _, ref := range dst.ExtraReferences {
		if !ref.IsPrefix {
			out = append(out, ref.Name)
			continue
		}
		name := nameUnder(ref.Name, ref.AllowOverwrite, img.Annotations)
		byDigest := ref.Name + "@" + img.Digest.String()
		switch {
		case name == "":
			if ref.AddDigest {
				out = append(out, byDigest)
			}
		default:
			out = append(out, name)
			if ref.AddDigest && !ref.SkipNamedDigest {
				out = append(out, byDigest)
			}
		}
	}
	return out
}

const (
	imageNameAnnotation = "io.containerd.image.name"
	refNameAnnotation   = "org.opencontainers.image.ref.name"
)

// nameUnder is containerd's imageName with AddRefPrefix (overwrite) or
// FilterRefPrefix: a full name is kept as it is, unless it must lie under
// the prefix and does not; a bare tag goes under the prefix.
func nameUnder(prefix string, overwrite bool, ann map[string]string) string {
	translate := func(ref string) string {
		if prefix == "" {
			return ""
		}
		if strings.ContainsAny(ref, "/:@") {
			if !overwrite && !underPrefix(ref, prefix) {
				return ""
			}
			return ref
		}
		return prefix + ":" + ref
	}
	if n := ann[imageNameAnnotation]; n != "" {
		if translate(n) != n {
			return ""
		}
		return n
	}
	if n := ann[refNameAnnotation]; n != "" {
		return translate(n)
	}
	return ""
}

func underPrefix(s, prefix string) bool {
	if !strings.HasPrefix(s, prefix) {
		return false
	}
	return len(s) == len(prefix) || strings.ContainsRune("/:@", rune(s[len(prefix)]))
}
