package imagedclient

import (
	"context"
	"errors"
	"io"

	contentapi "github.com/containerd/containerd/api/services/content/v1"

	imagesv1 "berth.dev/proto/berth/images/v1"
)

// Pull runs a server-side pull (berth.images.v1.Images/Pull) and returns
// its last progress report, which names the image record and its target.
// Cancelling ctx stops the pull in imaged.
func (c *Client) Pull(ctx context.Context, req *imagesv1.PullRequest) (*imagesv1.PullProgress, error) {
	stream, err := imagesv1.NewImagesClient(c.cc).Pull(ctx, req)
	if err != nil {
		return nil, err
	}
	var last *imagesv1.PullProgress
	for {
		p, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return last, nil
		}
		if err != nil {
			return nil, err
		}
		last = p
	}
}

// ContentUsage sums the sizes and counts the blobs of the content store in
// the namespace of ctx.
func (c *Client) ContentUsage(ctx context.Context) (size, count int64, err error) {
	stream, err := c.content.List(ctx, &contentapi.ListContentRequest{})
	if err != nil {
		return 0, 0, err
	}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return size, count, nil
		}
		if err != nil {
			return 0, 0, err
		}
		for _, info := range resp.Info {
			size += info.Size
			count++
		}
	}
}
