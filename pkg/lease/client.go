package lease

import (
	"context"

	"google.golang.org/grpc/metadata"
)

// ClientMetadata is the gRPC metadata key in which the gateway names the
// node-socket connection a forwarded call came on ("<boot>.<n>"). The
// gateway sets it itself and drops any value a client sent, so a lease can
// be tied to the client that created it and let go when that client is
// gone.
const ClientMetadata = "berth-client"

// ClientFromContext returns the connection id the gateway attached, if any.
func ClientFromContext(ctx context.Context) (string, bool) {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(ClientMetadata); len(v) > 0 && v[0] != "" {
			return v[0], true
		}
	}
	return "", false
}

// ForwardClient returns out carrying, for its outgoing calls, the client
// connection id that in came with: a daemon acting on a client's behalf
// (snapshotd holding a new snapshot under the client's lease) passes the
// client on, so that imaged sees the client's own activity under its lease.
func ForwardClient(in, out context.Context) context.Context {
	client, ok := ClientFromContext(in)
	if !ok {
		return out
	}
	md, ok := metadata.FromOutgoingContext(out)
	if !ok {
		md = metadata.MD{}
	} else {
		md = md.Copy()
	}
	md.Set(ClientMetadata, client)
	return metadata.NewOutgoingContext(out, md)
}
