package router

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc/stats"
)

// leaseCreate is the call whose connection the daemons are told about when
// it closes: a lease outlives the call that made it.
const leaseCreate = "/containerd.services.leases.v1.Leases/Create"

// Clients names every node-socket connection "<boot>.<n>" (boot is random
// per gateway start) and reports the connections that created leases once
// they close, so imaged can let go of what an interrupted client left
// behind. It is a gRPC stats handler on the node socket.
type Clients struct {
	// Boot is this gateway start's id.
	Boot string

	seq     atomic.Uint64
	mu      sync.Mutex
	holders map[string]bool
	gone    func(ids []string)
}

type connKey struct{}

// NewClients returns a tracker that calls gone, on its own goroutine, with
// the ids of closed connections that created leases.
func NewClients(gone func(ids []string)) *Clients {
	b := make([]byte, 6)
	rand.Read(b)
	return &Clients{Boot: hex.EncodeToString(b), holders: map[string]bool{}, gone: gone}
}

// ClientID returns the id of the connection a call came on.
func ClientID(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(connKey{}).(string)
	return id, ok
}

// TagConn implements stats.Handler.
func (c *Clients) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return context.WithValue(ctx, connKey{}, c.Boot+"."+strconv.FormatUint(c.seq.Add(1), 10))
}

// HandleConn implements stats.Handler.
func (c *Clients) HandleConn(ctx context.Context, s stats.ConnStats) {
	if _, ok := s.(*stats.ConnEnd); !ok {
		return
	}
	id, ok := ClientID(ctx)
	if !ok {
		return
	}
	c.mu.Lock()
	held := c.holders[id]
	delete(c.holders, id)
	c.mu.Unlock()
	if held && c.gone != nil {
		go c.gone([]string{id})
	}
}

// TagRPC implements stats.Handler.
func (c *Clients) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }

// HandleRPC implements stats.Handler.
func (c *Clients) HandleRPC(context.Context, stats.RPCStats) {}

// saw notes a forwarded call; a connection that creates a lease is reported
// when it closes.
func (c *Clients) saw(ctx context.Context, method string) {
	if method != leaseCreate {
		return
	}
	if id, ok := ClientID(ctx); ok {
		c.mu.Lock()
		c.holders[id] = true
		c.mu.Unlock()
	}
}
