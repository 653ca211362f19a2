//go:build chaos

package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"

	imagesv1 "berth.dev/proto/berth/images/v1"
)

// maxOpsPerClient bounds each client's loop whatever the duration.
const maxOpsPerClient = 5000

// operation is one kind of request the load makes.
type operation struct {
	name    string
	weight  int
	timeout time.Duration
	do      func(c *client, ctx context.Context) error
}

var operations = []operation{
	{"pull-server", 3, time.Minute, (*client).pullServer},
	{"pull-client", 2, time.Minute, (*client).pullClient},
	{"run", 4, time.Minute, (*client).runOnce},
	{"exec-kill", 4, time.Minute, (*client).execKill},
	{"lease", 2, 30 * time.Second, (*client).leaseWork},
	{"image-delete", 1, 30 * time.Second, (*client).deleteImage},
}

// client is one of the load's concurrent clients.
type client struct {
	r   *run
	n   int
	rng *rand.Rand
	ns  string // the namespace of the current operation
	ids int
}

// load runs the clients until the deadline and waits for them.
func (r *run) load(until time.Time) *sync.WaitGroup {
	var wg sync.WaitGroup
	for i := 0; i < *clientsFlag; i++ {
		c := &client{r: r, n: i, rng: rand.New(rand.NewSource(r.seed + int64(i+1)*7919))}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.loop(until)
		}()
	}
	return &wg
}

func (c *client) loop(until time.Time) {
	weights := 0
	for _, op := range operations {
		weights += op.weight
	}
	for n := 0; n < maxOpsPerClient; n++ {
		pick := c.rng.Intn(weights)
		op := operations[0]
		for _, o := range operations {
			if pick < o.weight {
				op = o
				break
			}
			pick -= o.weight
		}
		c.ns = c.r.namespaces[c.rng.Intn(len(c.r.namespaces))]
		c.r.gate.RLock()
		if time.Now().After(until) {
			c.r.gate.RUnlock()
			return
		}
		ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), c.ns), op.timeout)
		err := op.do(c, ctx)
		cancel()
		c.r.gate.RUnlock()
		c.r.stats.op(op.name, err)
		if err != nil {
			// Back off as a real client would, rather than fail in a
			// tight loop while a daemon restarts.
			time.Sleep(100*time.Millisecond + time.Duration(c.rng.Int63n(int64(200*time.Millisecond))))
		}
	}
}

func (c *client) newID(prefix string) string {
	c.ids++
	return fmt.Sprintf("%s-c%d-%d", prefix, c.n, c.ids)
}

// pullServer pulls through Berth's own server-side pull.
func (c *client) pullServer(ctx context.Context) error {
	refs := append([]string{c.r.busybox}, c.r.randoms...)
	return c.r.serverPull(ctx, c.ns, refs[c.rng.Intn(len(refs))])
}

// serverPull runs berth.images.v1 Pull to its end.
func (r *run) serverPull(ctx context.Context, ns, ref string) error {
	stream, err := imagesv1.NewImagesClient(r.berth).Pull(namespaces.WithNamespace(ctx, ns), &imagesv1.PullRequest{Ref: ref})
	if err != nil {
		return err
	}
	for {
		if _, err := stream.Recv(); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// pullClient pulls with containerd's Go client under a lease of the load's
// own, which it deletes afterwards.
func (c *client) pullClient(ctx context.Context) error {
	_, err := c.r.clientPull(ctx, c.ns)
	return err
}

// deleteImage deletes one of the pull-only images and collects garbage.
func (c *client) deleteImage(ctx context.Context) error {
	ref := c.r.randoms[c.rng.Intn(len(c.r.randoms))]
	err := c.r.client.ImageService().Delete(ctx, ref, images.SynchronousDelete())
	if errdefs.IsNotFound(err) {
		return nil
	}
	return err
}

// leaseWork writes a blob under a lease, deletes the lease synchronously
// and checks that garbage collection took the blob with it.
func (c *client) leaseWork(ctx context.Context) error {
	ls := c.r.client.LeasesService()
	l, err := ls.Create(ctx, leases.WithRandomID(), leases.WithExpiration(time.Hour))
	if err != nil {
		return err
	}
	data := make([]byte, 4096+c.rng.Intn(64<<10))
	c.rng.Read(data)
	dgst, werr := writeBlob(leases.WithLease(ctx, l.ID), c.r.client.ContentStore(), c.newID("blob"), data)
	if err := c.r.dropLease(c.ns, l, true); err != nil {
		return err
	}
	if werr != nil {
		return werr
	}
	if _, err := c.r.client.ContentStore().Info(ctx, dgst); !errdefs.IsNotFound(err) {
		c.r.stats.violate("gc-kept-unreferenced", c.r.phase(), "blob %s written under lease %s in %s is still there after the lease's synchronous delete (%v)", dgst, l.ID, c.ns, err)
	}
	return nil
}

// dropLease deletes a lease the load created, retrying while a daemon comes
// back; a lease it cannot delete is remembered as the load's own leak.
func (r *run) dropLease(ns string, l leases.Lease, sync bool) error {
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), ns), 30*time.Second)
	defer cancel()
	var opts []leases.DeleteOpt
	if sync {
		opts = append(opts, leases.SynchronousDelete)
	}
	var err error
	for {
		err = r.client.LeasesService().Delete(ctx, l, opts...)
		if err == nil || errdefs.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			r.ledger.mu.Lock()
			r.ledger.leases[ns+"/"+l.ID] = true
			r.ledger.mu.Unlock()
			return fmt.Errorf("delete lease %s: %w", l.ID, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
