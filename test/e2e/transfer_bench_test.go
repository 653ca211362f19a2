//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	imagesv1 "berth.dev/proto/berth/images/v1"
	"berth.dev/test/e2e/harness"
)

// BenchmarkServerPull pulls and unpacks a 300 MiB image (5 random layers
// of 60 MiB) from an in-process registry on loopback with Berth's
// server-side pull; the image and its content are removed between runs.
func BenchmarkServerPull(b *testing.B) {
	st := harness.Start(b)
	reg := harness.Registry(b)
	ref := reg + "/bench/pull:1"
	img, err := random.Image(60<<20, 5)
	if err != nil {
		b.Fatal(err)
	}
	harness.Push(b, ref, img)
	b.SetBytes(300 << 20)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := serverPull(b, st, &imagesv1.PullRequest{Ref: ref}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		st.MustCtr(b, "images", "rm", "--sync", ref)
		st.MustCtr(b, "content", "prune", "references")
		b.StartTimer()
	}
}

// BenchmarkContentWrite writes a 64 MiB blob with containerd's Go client
// (1 MiB WRITE messages, each answered before the next, as ctr's fetch
// does) through the node socket and, for the gateway's share, straight to
// imaged's socket.
func BenchmarkContentWrite(b *testing.B) {
	st := harness.Start(b)
	for _, target := range []string{"gateway", "imaged"} {
		b.Run(target, func(b *testing.B) {
			client, err := containerd.New(st.SocketOf(target), containerd.WithTimeout(10*time.Second))
			if err != nil {
				b.Fatal(err)
			}
			defer client.Close()
			ctx := namespaces.WithNamespace(context.Background(), "bench-write-"+target)
			cs := client.ContentStore()
			data := make([]byte, 64<<20)
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				rand.Read(data[:64])
				desc := ocispec.Descriptor{Digest: digest.FromBytes(data), Size: int64(len(data))}
				if err := content.WriteBlob(ctx, cs, fmt.Sprintf("bench-%d", i), bytes.NewReader(data), desc); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := cs.Delete(ctx, desc.Digest); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}
