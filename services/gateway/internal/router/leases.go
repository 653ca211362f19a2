package router

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	leasesapi "github.com/containerd/containerd/api/services/leases/v1"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"berth.dev/pkg/log"
	"berth.dev/pkg/namespace"
	"berth.dev/services/gateway/internal/errand"
)

const leaseDelete = "/containerd.services.leases.v1.Leases/Delete"

// expireLabel marks a temporary lease, the kind imaged ties to its client.
const expireLabel = "containerd.io/gc.expire"

// FinishLeases has the router keep, in q, the lease calls of clients that
// imaged could not take (see package errand).
func (r *Router) FinishLeases(q *errand.Queue) { r.errands = q }

// forwardLeaseCreate forwards a leases Create. A temporary lease made for
// a client follows that client: when its create fails in a way that
// leaves open whether imaged made it, the client knows no such lease, and
// the gateway has imaged drop it (an errand, so that imaged down or the
// gateway killed meanwhile does not keep it). A create without an id gets
// one here, as imaged would give it, so that such a lease can be named.
// An earlier delete of the lease imaged may have missed is finished
// before the create goes on (errand.Queue.BeforeCreate).
func (r *Router) forwardLeaseCreate(ctx context.Context, ss grpc.ServerStream, b *Backend) error {
	req := &leasesapi.CreateRequest{}
	if err := ss.RecvMsg(req); err != nil {
		return err
	}
	ns, _ := namespace.FromContext(ctx)
	client, tracked := ClientID(ctx)
	_, temporary := req.Labels[expireLabel]
	follows := tracked && temporary && ns != ""
	if follows && req.ID == "" {
		id := make([]byte, 12)
		rand.Read(id)
		req.ID = hex.EncodeToString(id)
	}
	if ns != "" && req.ID != "" {
		if err := r.errands.BeforeCreate(ctx, ns, req.ID, follows); err != nil {
			return err
		}
	}
	resp := &frame{}
	err := invoke(outgoing(ctx, leaseCreate), ss, b, leaseCreate, req, resp)
	if err != nil {
		if follows && errand.Uncertain(err) {
			r.queue(ctx, errand.Errand{Namespace: ns, ID: req.ID, Drop: true, Client: client})
		}
		return unavailable(b, err)
	}
	return send(ss, resp)
}

// forwardLeaseDelete forwards a leases Delete; one imaged could not take
// is finished once imaged is back.
func (r *Router) forwardLeaseDelete(ctx context.Context, ss grpc.ServerStream, b *Backend) error {
	req := &leasesapi.DeleteRequest{}
	if err := ss.RecvMsg(req); err != nil {
		return err
	}
	resp := &frame{}
	err := invoke(outgoing(ctx, leaseDelete), ss, b, leaseDelete, req, resp)
	if err != nil {
		if ns, ok := namespace.FromContext(ctx); ok && ns != "" && req.ID != "" && errand.Uncertain(err) {
			r.queue(ctx, errand.Errand{Namespace: ns, ID: req.ID, Sync: req.Sync})
		}
		return unavailable(b, err)
	}
	return send(ss, resp)
}

func (r *Router) queue(ctx context.Context, e errand.Errand) {
	if err := r.errands.Add(ctx, e); err != nil {
		log.G(ctx).Warn("keep a lease call to finish", zap.String("namespace", e.Namespace), zap.String("id", e.ID), zap.Error(err))
	}
}
