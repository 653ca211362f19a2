package transfer

import (
	"slices"
	"testing"

	transfertypes "github.com/containerd/containerd/api/types/transfer"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"berth.dev/services/imaged/internal/archive"
)

// The names ctr 2.x's import asks for, as containerd's image store gives
// them.
func TestImportNames(t *testing.T) {
	dgst := v1.Hash{Algorithm: "sha256", Hex: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
	full := archive.Image{Digest: dgst, Annotations: map[string]string{imageNameAnnotation: "docker.io/library/busybox:1"}}
	tagOnly := archive.Image{Digest: dgst, Annotations: map[string]string{refNameAnnotation: "1.36"}}
	none := archive.Image{Digest: dgst}
	prefix := func(name string, overwrite, digests, skipNamed bool) *transfertypes.ImageStore {
		return &transfertypes.ImageStore{ExtraReferences: []*transfertypes.ImageReference{{Name: name, IsPrefix: true, AllowOverwrite: overwrite, AddDigest: digests, SkipNamedDigest: skipNamed}}}
	}
	for _, tc := range []struct {
		name string
		dst  *transfertypes.ImageStore
		img  archive.Image
		want []string
	}{
		{"default prefix keeps a full name", prefix("import-2026-01-01", true, false, false), full, []string{"docker.io/library/busybox:1"}},
		{"default prefix takes a tag", prefix("import-2026-01-01", true, false, false), tagOnly, []string{"import-2026-01-01:1.36"}},
		{"base name filters other names", prefix("example.com/app", false, false, false), full, nil},
		{"base name keeps its own", prefix("docker.io/library/busybox", false, false, false), full, []string{"docker.io/library/busybox:1"}},
		{"digests for the unnamed", prefix("example.com/app", false, true, false), none, []string{"example.com/app@" + dgst.String()}},
		{"digests beside names", prefix("import-x", true, true, false), tagOnly, []string{"import-x:1.36", "import-x@" + dgst.String()}},
		{"skip digests of named", prefix("import-x", true, true, true), tagOnly, []string{"import-x:1.36"}},
		{"no name at all", prefix("import-x", true, false, false), none, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := importNames(tc.dst, tc.img); !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRefKey(t *testing.T) {
	for mt, want := range map[string]string{
		"application/vnd.oci.image.index.v1+json":              "index-d",
		"application/vnd.docker.distribution.manifest.v2+json": "manifest-d",
		"application/vnd.oci.image.config.v1+json":             "config-d",
		"application/vnd.docker.image.rootfs.diff.tar.gzip":    "layer-d",
	} {
		if got := refKey(descriptor(mt, "d", 0)); got != want {
			t.Errorf("%s: %s, want %s", mt, got, want)
		}
	}
}
