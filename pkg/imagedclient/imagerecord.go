package imagedclient

import (
	"context"

	imagesapi "github.com/containerd/containerd/api/services/images/v1"
	"github.com/containerd/errdefs"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// PutImage creates an image record in the namespace of ctx, or points the
// existing one at img's target.
func (c *Client) PutImage(ctx context.Context, img *imagesapi.Image) error {
	images := imagesapi.NewImagesClient(c.cc)
	_, err := images.Create(ctx, &imagesapi.CreateImageRequest{Image: img})
	if errdefs.IsAlreadyExists(err) {
		_, err = images.Update(ctx, &imagesapi.UpdateImageRequest{Image: img,
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"target", "labels"}}})
	}
	return err
}
