package imagedclient

import (
	"context"
	"errors"
	"fmt"
	"io"

	contentapi "github.com/containerd/containerd/api/services/content/v1"
	leasesapi "github.com/containerd/containerd/api/services/leases/v1"
	"google.golang.org/grpc"

	"berth.dev/pkg/grpcclient"
)

// Client talks to imaged's socket.
type Client struct {
	cc      *grpc.ClientConn
	content contentapi.ContentClient
	leases  leasesapi.LeasesClient
}

// Dial connects lazily to imaged at socket.
func Dial(socket string) (*Client, error) {
	cc, err := grpcclient.Dial(socket)
	if err != nil {
		return nil, err
	}
	return &Client{cc: cc, content: contentapi.NewContentClient(cc), leases: leasesapi.NewLeasesClient(cc)}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.cc.Close() }

// Info returns a blob's record in the namespace of ctx.
func (c *Client) Info(ctx context.Context, digest string) (*contentapi.Info, error) {
	resp, err := c.content.Info(ctx, &contentapi.InfoRequest{Digest: digest})
	if err != nil {
		return nil, err
	}
	return resp.Info, nil
}

// Open streams a blob from the start. ctx must carry the namespace and
// stay alive while the reader is used.
func (c *Client) Open(ctx context.Context, digest string) (io.ReadCloser, error) {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := c.content.Read(ctx, &contentapi.ReadContentRequest{Digest: digest})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("read %s: %w", digest, err)
	}
	return &reader{stream: stream, cancel: cancel}, nil
}

type reader struct {
	stream contentapi.Content_ReadClient
	buf    []byte
	cancel context.CancelFunc
}

func (r *reader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		msg, err := r.stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, io.EOF
			}
			return 0, err
		}
		r.buf = msg.Data
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (r *reader) Close() error {
	r.cancel()
	return nil
}

// Hold adds a resource to a lease.
func (c *Client) Hold(ctx context.Context, lease, typ, id string) error {
	_, err := c.leases.AddResource(ctx, &leasesapi.AddResourceRequest{ID: lease, Resource: &leasesapi.Resource{ID: id, Type: typ}})
	return err
}
