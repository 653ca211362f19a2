package pause

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	imagesapi "github.com/containerd/containerd/api/services/images/v1"
	snapshotsapi "github.com/containerd/containerd/api/services/snapshots/v1"
	"github.com/containerd/containerd/api/types"
	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	imagespec "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Name is the built-in image's record name.
const Name = "berth.dev/pause:builtin"

// Content is the part of imaged the installer needs.
type Content interface {
	Write(ctx context.Context, ref string, r io.Reader, size int64, dgst string, labels map[string]string) error
	PutImage(ctx context.Context, img *imagesapi.Image) error
}

// Snapshots is the part of snapshotd the installer needs.
type Snapshots interface {
	Stat(ctx context.Context, snapshotter, key string) (*snapshotsapi.Info, error)
	Prepare(ctx context.Context, snapshotter, key, parent string) ([]*types.Mount, error)
	Apply(ctx context.Context, desc *types.Descriptor, mounts []*types.Mount, syncFS, overlayWhiteouts bool) (*types.Descriptor, error)
	Commit(ctx context.Context, snapshotter, name, key, parent string) error
	Remove(ctx context.Context, snapshotter, key string) error
}

// Image is the installed image.
type Image struct {
	ID      string // config digest
	Name    string
	ChainID string
	Config  ocispec.ImageConfig
	Size    uint64
}

// Install writes the image built from binary into the namespace of ctx
// and unpacks it with snapshotter.
func Install(ctx context.Context, binary, snapshotter string, content Content, snaps Snapshots) (*Image, error) {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return nil, fmt.Errorf("built-in pause binary: %w", err)
	}
	layer := layerTar(bin)
	diffID := digest.FromBytes(layer)
	cfg := ocispec.Image{
		Platform: ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH},
		Config:   ocispec.ImageConfig{Entrypoint: []string{"/pause"}, StopSignal: "SIGTERM"},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{diffID}},
	}
	cfgJSON, _ := json.Marshal(cfg)
	cfgDesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(cfgJSON), Size: int64(len(cfgJSON))}
	layerDesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: diffID, Size: int64(len(layer))}
	manifest, _ := json.Marshal(ocispec.Manifest{Versioned: imagespec.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, Config: cfgDesc, Layers: []ocispec.Descriptor{layerDesc}})
	mDesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(manifest), Size: int64(len(manifest))}

	chainID := diffID.String() // one layer: its chain id is its diff id
	blobs := []struct {
		data   []byte
		desc   ocispec.Descriptor
		labels map[string]string
	}{
		{layer, layerDesc, nil},
		{cfgJSON, cfgDesc, map[string]string{"containerd.io/gc.ref.snapshot." + snapshotter: chainID}},
		{manifest, mDesc, map[string]string{"containerd.io/gc.ref.content.config": cfgDesc.Digest.String(), "containerd.io/gc.ref.content.l.0": layerDesc.Digest.String()}},
	}
	for _, b := range blobs {
		if err := content.Write(ctx, "berth-pause-"+b.desc.Digest.Encoded(), bytes.NewReader(b.data), b.desc.Size, b.desc.Digest.String(), b.labels); err != nil {
			return nil, fmt.Errorf("write %s: %w", b.desc.Digest, err)
		}
	}
	if err := unpack(ctx, snaps, snapshotter, chainID, layerDesc); err != nil {
		return nil, err
	}
	err = content.PutImage(ctx, &imagesapi.Image{Name: Name,
		Labels: map[string]string{"io.cri-containerd.image": "managed", "io.cri-containerd.pinned": "pinned"},
		Target: &types.Descriptor{MediaType: mDesc.MediaType, Digest: mDesc.Digest.String(), Size: mDesc.Size}})
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", Name, err)
	}
	return &Image{ID: cfgDesc.Digest.String(), Name: Name, ChainID: chainID, Config: cfg.Config, Size: uint64(len(layer))}, nil
}

func unpack(ctx context.Context, snaps Snapshots, snapshotter, chainID string, layer ocispec.Descriptor) error {
	if _, err := snaps.Stat(ctx, snapshotter, chainID); err == nil {
		return nil
	} else if !errdefs.IsNotFound(err) {
		return err
	}
	key := fmt.Sprintf("extract-%d %s", time.Now().UnixNano(), chainID)
	mounts, err := snaps.Prepare(ctx, snapshotter, key, "")
	if err != nil {
		return fmt.Errorf("prepare %s: %w", key, err)
	}
	desc := &types.Descriptor{MediaType: layer.MediaType, Digest: layer.Digest.String(), Size: layer.Size}
	if _, err := snaps.Apply(ctx, desc, mounts, false, false); err != nil {
		snaps.Remove(ctx, snapshotter, key)
		return fmt.Errorf("apply pause layer: %w", err)
	}
	if err := snaps.Commit(ctx, snapshotter, chainID, key, ""); err != nil && !errdefs.IsAlreadyExists(err) {
		snaps.Remove(ctx, snapshotter, key)
		return fmt.Errorf("commit %s: %w", chainID, err)
	}
	return nil
}

// layerTar is the single layer: /pause and the directories a container
// runtime mounts over.
func layerTar(bin []byte) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(0, 0)
	for _, d := range []string{"dev/", "proc/", "sys/", "etc/"} {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: mtime})
	}
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "pause", Mode: 0o755, Size: int64(len(bin)), ModTime: mtime})
	tw.Write(bin)
	tw.Close()
	return buf.Bytes()
}
