package imagedclient

import (
	"context"
	"errors"
	"fmt"
	"io"

	contentapi "github.com/containerd/containerd/api/services/content/v1"
	"github.com/containerd/errdefs"
)

const writeChunk = 1 << 20

// Write stores r (size bytes with digest dgst) in imaged's content store
// under ref, with labels. Content already present is not an error.
func (c *Client) Write(ctx context.Context, ref string, r io.Reader, size int64, dgst string, labels map[string]string) error {
	stream, err := c.content.Write(ctx)
	if err != nil {
		return err
	}
	buf := make([]byte, writeChunk)
	var offset int64
	for {
		n, rerr := io.ReadFull(r, buf)
		last := errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF)
		if rerr != nil && !last {
			stream.CloseSend()
			return rerr
		}
		req := &contentapi.WriteContentRequest{Action: contentapi.WriteAction_WRITE, Ref: ref, Offset: offset, Data: buf[:n], Total: size, Expected: dgst}
		if last {
			req.Action, req.Labels = contentapi.WriteAction_COMMIT, labels
		}
		if err := stream.Send(req); err != nil {
			return sendError(stream, err)
		}
		resp, err := stream.Recv()
		if err != nil {
			if errdefs.IsAlreadyExists(err) {
				return nil
			}
			return err
		}
		offset = resp.Offset
		if last {
			if resp.Digest != dgst {
				return fmt.Errorf("content %s committed as %s: %w", dgst, resp.Digest, errdefs.ErrDataLoss)
			}
			return stream.CloseSend()
		}
	}
}

// sendError returns the server's reason when a send fails because the
// server ended the stream.
func sendError(stream contentapi.Content_WriteClient, err error) error {
	if errors.Is(err, io.EOF) {
		if _, rerr := stream.Recv(); rerr != nil {
			if errdefs.IsAlreadyExists(rerr) {
				return nil
			}
			return rerr
		}
	}
	return err
}
