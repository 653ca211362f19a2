package lease

import (
	"context"

	"google.golang.org/grpc/metadata"
)

// Metadata is the gRPC metadata key carrying the lease id.
const Metadata = "containerd-lease"

type key struct{}

// WithLease returns a context carrying id for this process and outgoing calls.
func WithLease(ctx context.Context, id string) context.Context {
	ctx = context.WithValue(ctx, key{}, id)
	md, ok := metadata.FromOutgoingContext(ctx)
	if !ok {
		md = metadata.MD{}
	} else {
		md = md.Copy()
	}
	md.Set(Metadata, id)
	return metadata.NewOutgoingContext(ctx, md)
}

// FromContext returns the lease of ctx, if any.
func FromContext(ctx context.Context) (string, bool) {
	if id, ok := ctx.Value(key{}).(string); ok {
		return id, true
	}
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(Metadata); len(v) > 0 && v[0] != "" {
			return v[0], true
		}
	}
	return "", false
}
