package archive

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	imagesapi "github.com/containerd/containerd/api/services/images/v1"
	"github.com/opencontainers/go-digest"

	"berth.dev/services/imaged/internal/content"
	"berth.dev/services/imaged/internal/gc"
)

// Export writes the named images, with every blob they reach, as an OCI
// image layout tar to w.
func Export(ctx context.Context, store *content.Store, images []*imagesapi.Image, w io.Writer) error {
	tw := tar.NewWriter(w)
	if err := writeFile(tw, "oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	written := map[digest.Digest]bool{}
	type desc struct {
		MediaType   string            `json:"mediaType"`
		Digest      string            `json:"digest"`
		Size        int64             `json:"size"`
		Annotations map[string]string `json:"annotations,omitempty"`
	}
	index := struct {
		SchemaVersion int    `json:"schemaVersion"`
		MediaType     string `json:"mediaType"`
		Manifests     []desc `json:"manifests"`
	}{SchemaVersion: 2, MediaType: "application/vnd.oci.image.index.v1+json"}
	for _, img := range images {
		if err := writeTree(ctx, tw, store, digest.Digest(img.Target.Digest), written); err != nil {
			return fmt.Errorf("export %s: %w", img.Name, err)
		}
		ann := map[string]string{containerdNameAnnotation: img.Name}
		if i := strings.LastIndex(img.Name, ":"); i > strings.LastIndex(img.Name, "/") {
			ann[ociRefAnnotation] = img.Name[i+1:]
		}
		index.Manifests = append(index.Manifests, desc{MediaType: img.Target.MediaType, Digest: img.Target.Digest, Size: img.Target.Size, Annotations: ann})
	}
	b, err := json.Marshal(index)
	if err != nil {
		return err
	}
	if err := writeFile(tw, "index.json", b); err != nil {
		return err
	}
	return tw.Close()
}

// writeTree writes a blob and, for manifests and indexes, the blobs they
// name that the store has (an index may list platforms never pulled).
func writeTree(ctx context.Context, tw *tar.Writer, store *content.Store, d digest.Digest, written map[digest.Digest]bool) error {
	if written[d] {
		return nil
	}
	f, info, err := store.Open(ctx, d.String())
	if err != nil {
		return err
	}
	defer f.Close()
	if err := tw.WriteHeader(&tar.Header{Name: "blobs/" + d.Algorithm().String() + "/" + d.Encoded(), Mode: 0o644, Size: info.Size, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	var head []byte
	if info.Size <= 4<<20 {
		head, err = io.ReadAll(f)
		if err == nil {
			_, err = tw.Write(head)
		}
	} else {
		_, err = io.Copy(tw, f)
	}
	if err != nil {
		return err
	}
	written[d] = true
	for _, child := range gc.Children(head) {
		if _, err := store.Info(ctx, child.String()); err != nil {
			continue
		}
		if err := writeTree(ctx, tw, store, child, written); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(tw *tar.Writer, name string, data []byte) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}
