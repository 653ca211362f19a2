package daemons

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/status"

	adminv1 "berth.dev/proto/berth/admin/v1"
	"berth.dev/services/gateway/internal/router"
)

const askTimeout = 2 * time.Second

// Set is the daemons behind the gateway.
type Set struct {
	backends []*router.Backend
	mu       sync.Mutex
	// last remembers each daemon's plugins, to list them (as failing)
	// while it is down.
	last map[string][]*adminv1.Plugin
}

// New returns the set over backends.
func New(backends []*router.Backend) *Set {
	return &Set{backends: backends, last: map[string][]*adminv1.Plugin{}}
}

// DaemonPlugins is one daemon's answer.
type DaemonPlugins struct {
	Daemon  string
	Plugins []*adminv1.Plugin
	// Err is set when the daemon could not be asked; Plugins then holds
	// what it served when last seen, or its gRPC services.
	Err error
}

// Plugins asks every daemon concurrently.
func (s *Set) Plugins(ctx context.Context) []DaemonPlugins {
	out := make([]DaemonPlugins, len(s.backends))
	var wg sync.WaitGroup
	for i, b := range s.backends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = s.ask(ctx, b)
		}()
	}
	wg.Wait()
	return out
}

func (s *Set) ask(ctx context.Context, b *router.Backend) DaemonPlugins {
	ctx, cancel := context.WithTimeout(ctx, askTimeout)
	defer cancel()
	resp, err := adminv1.NewAdminClient(b.Conn).Plugins(ctx, &adminv1.PluginsRequest{})
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		s.last[b.Name] = resp.Plugins
		return DaemonPlugins{Daemon: b.Name, Plugins: resp.Plugins}
	}
	plugins := s.last[b.Name]
	if plugins == nil {
		for _, svc := range b.Services {
			if strings.HasSuffix(svc, ".") {
				continue // a prefix for Berth's own APIs, not a containerd plugin
			}
			id := svc
			if parts := strings.Split(svc, "."); len(parts) >= 3 {
				id = parts[len(parts)-3]
			}
			plugins = append(plugins, &adminv1.Plugin{Type: "io.containerd.grpc.v1", Id: id})
		}
	}
	return DaemonPlugins{Daemon: b.Name, Plugins: plugins, Err: fmt.Errorf("%s is unavailable: %s", b.Name, status.Convert(err).Message())}
}

// NamespaceInUse fails with FailedPrecondition when any daemon still holds
// resources in ns, and with Unavailable when a daemon cannot tell.
func (s *Set) NamespaceInUse(ctx context.Context, ns string) error {
	g, gctx := errgroup.WithContext(ctx)
	var mu sync.Mutex
	var held []string
	for _, b := range s.backends {
		g.Go(func() error {
			cctx, cancel := context.WithTimeout(gctx, askTimeout)
			defer cancel()
			resp, err := adminv1.NewAdminClient(b.Conn).NamespaceUsage(cctx, &adminv1.NamespaceUsageRequest{Namespace: ns})
			if err != nil {
				return fmt.Errorf("cannot tell whether namespace %q is empty: %s is unavailable: %s: %w",
					ns, b.Name, status.Convert(err).Message(), errdefs.ErrUnavailable)
			}
			mu.Lock()
			for _, r := range resp.Resources {
				held = append(held, b.Name+": "+r)
			}
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if len(held) > 0 {
		const shown = 5
		list := held
		if len(list) > shown {
			list = append(list[:shown:shown], fmt.Sprintf("and %d more", len(held)-shown))
		}
		return fmt.Errorf("namespace %q must be empty, but it still has %s: %w", ns, strings.Join(list, ", "), errdefs.ErrFailedPrecondition)
	}
	return nil
}
