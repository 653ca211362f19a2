package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"berth.dev/services/imaged/internal/image"
)

// Image is one image found in an archive.
type Image struct {
	// Name is the full reference the archive names the image by; empty
	// when it names none (or only a tag, kept in Annotations).
	Name  string
	Image v1.Image
	// Digest and Annotations are those of the archive's entry for the
	// image (an index entry for a multi-platform image), from which
	// containerd's transfer service derives names under a prefix.
	Digest      v1.Hash
	Annotations map[string]string
}

// Read spools the archive r under tmp and returns its images, also
// unnamed ones (with an empty Name). The
// returned cleanup removes the spool once the images were stored.
func Read(r io.Reader, tmp string, plat v1.Platform) ([]Image, func(), error) {
	dir, err := os.MkdirTemp(tmp, "import-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	spool := filepath.Join(dir, "archive.tar")
	layoutDir := filepath.Join(dir, "layout")
	kind, err := spoolAndExtract(r, spool, layoutDir)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	var imgs []Image
	switch kind {
	case "oci":
		imgs, err = fromLayout(layoutDir, plat)
	case "docker":
		imgs, err = fromDockerSave(spool)
	default:
		err = fmt.Errorf("archive has neither index.json nor manifest.json: %w", errdefs.ErrInvalidArgument)
	}
	if err == nil && len(imgs) == 0 {
		err = fmt.Errorf("archive holds no image: %w", errdefs.ErrInvalidArgument)
	}
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return imgs, cleanup, nil
}

// spoolAndExtract copies the archive to spool and, for an OCI layout,
// extracts its regular files under dir. Only plain relative names are
// accepted.
func spoolAndExtract(r io.Reader, spool, dir string) (string, error) {
	f, err := os.Create(spool)
	if err != nil {
		return "", err
	}
	defer f.Close()
	tr := tar.NewReader(io.TeeReader(r, f))
	kind := ""
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("archive: %v: %w", err, errdefs.ErrInvalidArgument)
		}
		clean := filepath.Clean(hdr.Name)
		if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
			return "", fmt.Errorf("archive entry %q escapes the archive: %w", hdr.Name, errdefs.ErrInvalidArgument)
		}
		switch clean {
		case "index.json":
			kind = "oci"
		case "manifest.json":
			if kind == "" {
				kind = "docker"
			}
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		dst := filepath.Join(dir, clean)
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return "", err
		}
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return "", err
		}
		_, err = io.Copy(out, tr)
		out.Close()
		if err != nil {
			return "", fmt.Errorf("archive entry %q: %v: %w", hdr.Name, err, errdefs.ErrInvalidArgument)
		}
	}
	// Drain what the tar reader did not need, so the spool is whole.
	if _, err := io.Copy(io.Discard, io.TeeReader(r, f)); err != nil {
		return "", err
	}
	return kind, nil
}

const (
	containerdNameAnnotation = "io.containerd.image.name"
	ociRefAnnotation         = "org.opencontainers.image.ref.name"
)

func fromLayout(dir string, plat v1.Platform) ([]Image, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("oci layout: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("oci layout index: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	var out []Image
	for _, d := range im.Manifests {
		n := d.Annotations[containerdNameAnnotation]
		if n == "" {
			n = d.Annotations[ociRefAnnotation]
		}
		if _, err := name.ParseReference(n); n == "" || err != nil || !strings.ContainsAny(n, "/:") {
			n = "" // nothing full to record it under
		}
		img, err := imageFor(idx, d, plat)
		if err != nil {
			return nil, err
		}
		out = append(out, Image{Name: n, Image: img, Digest: d.Digest, Annotations: d.Annotations})
	}
	return out, nil
}

// imageFor returns the image d names in idx: d itself, or the entry for
// plat of the index d names, through at most image.MaxIndexDepth indexes
// in all (index.json is the first).
func imageFor(idx v1.ImageIndex, d v1.Descriptor, plat v1.Platform) (v1.Image, error) {
	for depth := 1; ; depth++ {
		if d.MediaType.IsImage() {
			return idx.Image(d.Digest)
		}
		if depth == image.MaxIndexDepth {
			return nil, image.TooDeep("archive")
		}
		child, err := idx.ImageIndex(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("archive index %s: %v: %w", d.Digest, err, errdefs.ErrInvalidArgument)
		}
		cm, err := child.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("archive index %s: %v: %w", d.Digest, err, errdefs.ErrInvalidArgument)
		}
		next, ok := image.EntryFor(cm, plat)
		if !ok {
			return nil, fmt.Errorf("archive has no image for %s/%s: %w", plat.OS, plat.Architecture, errdefs.ErrNotFound)
		}
		idx, d = child, next
	}
}

func fromDockerSave(path string) ([]Image, error) {
	opener := func() (io.ReadCloser, error) { return os.Open(path) }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("docker archive: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	var out []Image
	for _, desc := range m {
		for _, t := range desc.RepoTags {
			tag, err := name.NewTag(t)
			if err != nil {
				return nil, fmt.Errorf("docker archive tag %q: %v: %w", t, err, errdefs.ErrInvalidArgument)
			}
			img, err := tarball.Image(opener, &tag)
			if err != nil {
				return nil, fmt.Errorf("docker archive image %s: %v: %w", t, err, errdefs.ErrInvalidArgument)
			}
			full := tag.Context().RegistryStr()
			if full == name.DefaultRegistry {
				full = "docker.io"
			}
			full += "/" + tag.Context().RepositoryStr() + ":" + tag.TagStr()
			dgst, err := img.Digest()
			if err != nil {
				return nil, fmt.Errorf("docker archive image %s: %v: %w", t, err, errdefs.ErrInvalidArgument)
			}
			out = append(out, Image{Name: full, Image: img, Digest: dgst, Annotations: map[string]string{containerdNameAnnotation: full}})
		}
	}
	return out, nil
}
