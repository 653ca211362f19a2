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
