package daemons

import (
	"context"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"berth.dev/pkg/log"
	adminv1 "berth.dev/proto/berth/admin/v1"
)

// ClientsGone tells every daemon that node-socket clients went away (boot
// set: every client of an earlier gateway start). A daemon that is down is
// asked again until ctx ends, so a lease left by a client is let go even
// when imaged restarts at the same time as the gateway.
func (s *Set) ClientsGone(ctx context.Context, boot string, clients []string) {
	req := &adminv1.ClientsGoneRequest{Boot: boot, Clients: clients}
	for _, b := range s.backends {
		for {
			actx, cancel := context.WithTimeout(ctx, askTimeout)
			_, err := adminv1.NewAdminClient(b.Conn).ClientsGone(actx, req)
			cancel()
			if err == nil || status.Code(err) == codes.Unimplemented {
				break
			}
			log.G(ctx).Debug("telling a daemon of departed clients", zap.String("daemon", b.Name), zap.Error(err))
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}
}
