package transfer

import (
	"sync"

	"github.com/containerd/containerd/api/types"
	transfertypes "github.com/containerd/containerd/api/types/transfer"

	"berth.dev/services/imaged/internal/stream"
)

// progress sends containerd transfer Progress messages on the client's
// progress stream; without one it drops them.
type progress struct {
	mu sync.Mutex
	s  stream.Stream
}

// event reports a status line (a Progress without a name).
func (p *progress) event(ev string) { p.send(&transfertypes.Progress{Event: ev}) }

func (p *progress) send(m *transfertypes.Progress) {
	if p == nil || p.s == nil {
		return
	}
	a, err := stream.Any(m)
	if err != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	// A client that stopped listening does not fail the transfer.
	_ = p.s.Send(a)
}

// refKey names a blob in progress the way containerd does
// (remotes.MakeRefKey): the kind of object, a dash, the digest.
func refKey(d *types.Descriptor) string {
	switch d.MediaType {
	case "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.manifest.v1+json":
		return "manifest-" + d.Digest
	case "application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.oci.image.index.v1+json":
		return "index-" + d.Digest
	case "application/vnd.docker.container.image.v1+json", "application/vnd.oci.image.config.v1+json":
		return "config-" + d.Digest
	}
	return "layer-" + d.Digest
}
