package cri

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"berth.dev/pkg/log"
	"berth.dev/services/gateway/internal/cri/pause"
)

// fallbackFor is how long the built-in pause image is used after the
// configured one could not be obtained, before trying it again.
const fallbackFor = 5 * time.Minute

// ensureTimeout bounds pulling the configured pause image.
const ensureTimeout = time.Minute

type cachedImage struct {
	mu       sync.Mutex
	builtin  *Image
	failedAt time.Time
}

// sandboxImage returns the configured pause image, pulled when missing,
// or the built-in one when that cannot be had.
func (s *RuntimeService) sandboxImage(ctx context.Context) (*Image, error) {
	c := &s.pauseImage
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.SandboxImage != "" && s.SandboxImage != pause.Name && s.Images != nil && time.Since(c.failedAt) > fallbackFor {
		// Bounded: an unreachable registry must not eat the kubelet's
		// whole RunPodSandbox deadline.
		ectx, cancel := context.WithTimeout(ctx, ensureTimeout)
		img, err := s.Images.Ensure(ectx, s.SandboxImage, nil)
		cancel()
		if err == nil {
			return img, nil
		}
		log.G(ctx).Warn("sandbox image unavailable, using the built-in pause", zap.String("image", s.SandboxImage), zap.Error(err))
		c.failedAt = time.Now()
	}
	if c.builtin != nil {
		return c.builtin, nil
	}
	p, err := pause.Install(daemonCtx(ctx), s.PauseBinary, s.Snapshotter, s.Content, s.Snapshots)
	if err != nil {
		return nil, err
	}
	c.builtin = &Image{ID: p.ID, Name: p.Name, RepoTags: []string{p.Name}, ChainID: p.ChainID, Config: p.Config, Size: p.Size}
	return c.builtin, nil
}
