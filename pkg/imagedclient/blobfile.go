package imagedclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/errdefs"

	"berth.dev/pkg/fdsocket"
	"berth.dev/pkg/namespace"
)

// BlobSocket is where imaged hands out committed blobs as open read-only
// files, beside its gRPC socket: a reader on the node (snapshotd applying
// a layer) reads the file itself instead of receiving gRPC frames.
func BlobSocket(grpcSocket string) string {
	return filepath.Join(filepath.Dir(grpcSocket), strings.TrimSuffix(filepath.Base(grpcSocket), ".sock")+"-blobs.sock")
}

// BlobRequest asks for a blob of a namespace.
type BlobRequest struct {
	Namespace string `json:"namespace"`
	Digest    string `json:"digest"`
}

// BlobResponse comes with the blob's descriptor, or says why not.
type BlobResponse struct {
	Size  int64  `json:"size,omitempty"`
	Error string `json:"error,omitempty"`
	// NotFound marks a blob the namespace does not have.
	NotFound bool `json:"not_found,omitempty"`
}

// OpenFile returns the committed blob digest of the namespace of ctx as a
// read-only file, and its size.
func (c *Client) OpenFile(ctx context.Context, digest string) (*os.File, int64, error) {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return nil, 0, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.blobSocket)
	if err != nil {
		return nil, 0, fmt.Errorf("imaged blob socket: %v: %w", err, errdefs.ErrUnavailable)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	uc := conn.(*net.UnixConn)
	if err := fdsocket.Send(uc, &BlobRequest{Namespace: ns, Digest: digest}, nil); err != nil {
		return nil, 0, fmt.Errorf("ask imaged for %s: %v: %w", digest, err, errdefs.ErrUnavailable)
	}
	var resp BlobResponse
	f, err := fdsocket.Receive(uc, &resp)
	if err != nil {
		return nil, 0, fmt.Errorf("blob %s from imaged: %v: %w", digest, err, errdefs.ErrUnavailable)
	}
	switch {
	case resp.NotFound:
		err = fmt.Errorf("content %s: %w", digest, errdefs.ErrNotFound)
	case resp.Error != "":
		err = errors.New(resp.Error)
	case f == nil:
		err = fmt.Errorf("imaged sent no file for %s: %w", digest, errdefs.ErrUnavailable)
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		return nil, 0, err
	}
	return f, resp.Size, nil
}
