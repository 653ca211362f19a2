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
	cc         *grpc.ClientConn
	content    contentapi.ContentClient
	leases     leasesapi.LeasesClient
	blobSocket string
}

// Dial connects lazily to imaged at socket.
func Dial(socket string) (*Client, error) {
	cc, err := grpcclient.Dial(socket)
	if err != nil {
		return nil, err
	}
	return &Client{cc: cc, content: contentapi.NewContentClient(cc), leases: leasesapi.NewLeasesClient(cc), blobSocket: BlobSocket(socket)}, nil
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
	r := &reader{chunks: make(chan chunk, 4), cancel: cancel}
	// Receiving runs ahead of the consumer, so the network and the
	// consumer's work (decompressing, writing files) overlap.
	go r.receive(stream)
	return r, nil
}

type chunk struct {
	data []byte
	err  error
}

type reader struct {
	chunks chan chunk
	buf    []byte
	err    error
	cancel context.CancelFunc
}

func (r *reader) receive(stream contentapi.Content_ReadClient) {
	defer close(r.chunks)
	for {
		msg, err := stream.Recv()
		if err != nil {
			r.chunks <- chunk{err: err}
			return
		}
		r.chunks <- chunk{data: msg.Data}
	}
}

func (r *reader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		c, ok := <-r.chunks
		if !ok {
			return 0, io.EOF
		}
		if c.err != nil {
			r.err = c.err
			if errors.Is(c.err, io.EOF) {
				r.err = io.EOF
			}
			continue
		}
		r.buf = c.data
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (r *reader) Close() error {
	r.cancel()
	// Let the receiver finish so it does not block on a full channel.
	for range r.chunks {
	}
	return nil
}

// Hold adds a resource to a lease.
func (c *Client) Hold(ctx context.Context, lease, typ, id string) error {
	_, err := c.leases.AddResource(ctx, &leasesapi.AddResourceRequest{ID: lease, Resource: &leasesapi.Resource{ID: id, Type: typ}})
	return err
}
