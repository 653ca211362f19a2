package stream

import (
	"context"
	"fmt"
	"sync"

	"github.com/containerd/errdefs"
	"google.golang.org/protobuf/types/known/anypb"

	"berth.dev/pkg/namespace"
)

// Stream is one client-opened stream of Any messages.
type Stream interface {
	Send(*anypb.Any) error
	Recv() (*anypb.Any, error)
	// Close ends the stream from imaged's side.
	Close() error
}

// Manager holds the open streams by namespace and id.
type Manager struct {
	mu      sync.Mutex
	streams map[string]Stream // namespace + "/" + id
}

// NewManager returns an empty manager.
func NewManager() *Manager { return &Manager{streams: map[string]Stream{}} }

func key(ctx context.Context, id string) (string, error) {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", fmt.Errorf("stream id must not be empty: %w", errdefs.ErrInvalidArgument)
	}
	return ns + "/" + id, nil
}

// Register makes s findable under id in the namespace of ctx until the
// returned function is called.
func (m *Manager) Register(ctx context.Context, id string, s Stream) (func(), error) {
	k, err := key(ctx, id)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.streams[k]; ok {
		return nil, fmt.Errorf("stream %q: %w", id, errdefs.ErrAlreadyExists)
	}
	m.streams[k] = s
	return func() {
		m.mu.Lock()
		if m.streams[k] == s {
			delete(m.streams, k)
		}
		m.mu.Unlock()
	}, nil
}

// Get returns the stream registered under id in the namespace of ctx.
func (m *Manager) Get(ctx context.Context, id string) (Stream, error) {
	k, err := key(ctx, id)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.streams[k]
	if !ok {
		return nil, fmt.Errorf("stream %q: %w", id, errdefs.ErrNotFound)
	}
	return s, nil
}
