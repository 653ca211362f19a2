package imagedclient

import (
	"context"
	"io"

	imagesapi "github.com/containerd/containerd/api/services/images/v1"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// The image records, through containerd's images API. Stubs are built per
// call from the shared connection: they hold nothing but it.

// Images lists the image records in the namespace of ctx matching any of
// filters (containerd's filter syntax); none lists all.
func (c *Client) Images(ctx context.Context, filters ...string) ([]*imagesapi.Image, error) {
	resp, err := imagesapi.NewImagesClient(c.cc).List(ctx, &imagesapi.ListImagesRequest{Filters: filters})
	if err != nil {
		return nil, err
	}
	return resp.Images, nil
}

// Image returns the record named name.
func (c *Client) Image(ctx context.Context, name string) (*imagesapi.Image, error) {
	resp, err := imagesapi.NewImagesClient(c.cc).Get(ctx, &imagesapi.GetImageRequest{Name: name})
	if err != nil {
		return nil, err
	}
	return resp.Image, nil
}

// CreateImage records img; errdefs.ErrAlreadyExists when the name is taken.
func (c *Client) CreateImage(ctx context.Context, img *imagesapi.Image) (*imagesapi.Image, error) {
	resp, err := imagesapi.NewImagesClient(c.cc).Create(ctx, &imagesapi.CreateImageRequest{Image: img})
	if err != nil {
		return nil, err
	}
	return resp.Image, nil
}

// UpdateImage changes the fields of the record named img.Name that paths
// name ("target", "labels", "labels.<key>"); none replaces all.
func (c *Client) UpdateImage(ctx context.Context, img *imagesapi.Image, paths ...string) (*imagesapi.Image, error) {
	req := &imagesapi.UpdateImageRequest{Image: img}
	if len(paths) > 0 {
		req.UpdateMask = &fieldmaskpb.FieldMask{Paths: paths}
	}
	resp, err := imagesapi.NewImagesClient(c.cc).Update(ctx, req)
	if err != nil {
		return nil, err
	}
	return resp.Image, nil
}

// DeleteImage removes the record named name; sync waits for the garbage
// collection that frees what only it held.
func (c *Client) DeleteImage(ctx context.Context, name string, sync bool) error {
	_, err := imagesapi.NewImagesClient(c.cc).Delete(ctx, &imagesapi.DeleteImageRequest{Name: name, Sync: sync})
	return err
}

// ReadBlob returns a whole blob, for small ones (manifests, configs).
func (c *Client) ReadBlob(ctx context.Context, digest string) ([]byte, error) {
	rc, err := c.Open(ctx, digest)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}
