//go:build e2e

package e2e

import (
	"context"
	"sync"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/transfer"
	imagestore "github.com/containerd/containerd/v2/core/transfer/image"
	"github.com/containerd/containerd/v2/core/transfer/registry"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/platforms"

	"berth.dev/test/e2e/harness"
)

// TestGoClientTransferPull pulls with the containerd 2 Go client's
// Transfer, as nerdctl and ctr do, and watches the progress it reports.
func TestGoClientTransferPull(t *testing.T) {
	st := harness.Start(t)
	reg := harness.Registry(t)
	ref := reg + "/goclient/transfer:1"
	harness.Push(t, ref, harness.BusyboxImage(t))

	client, err := containerd.New(st.Socket, containerd.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), "gotransfer-"+randSuffix()), 2*time.Minute)
	defer cancel()

	src, err := registry.NewOCIRegistry(ctx, ref, registry.WithDefaultScheme("http"))
	if err != nil {
		t.Fatal(err)
	}
	dst := imagestore.NewStore(ref, imagestore.WithUnpack(platforms.DefaultSpec(), "overlayfs"), imagestore.WithImageLabels(map[string]string{"berth.test/via": "transfer"}))
	var mu sync.Mutex
	events := map[string]bool{}
	layerDone := false
	err = client.Transfer(ctx, src, dst, transfer.WithProgress(func(p transfer.Progress) {
		mu.Lock()
		defer mu.Unlock()
		events[p.Event] = true
		if p.Desc != nil && p.Total > 0 && p.Progress == p.Total && len(p.Parents) == 1 && p.Parents[0] == ref {
			layerDone = true
		}
	}))
	if err != nil {
		t.Fatalf("transfer pull: %v", err)
	}
	img, err := client.GetImage(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if img.Labels()["berth.test/via"] != "transfer" {
		t.Fatalf("image labels %v", img.Labels())
	}
	if ok, err := img.IsUnpacked(ctx, "overlayfs"); err != nil || !ok {
		t.Fatalf("unpacked: %v %v", ok, err)
	}
	// Progress arrives on its own stream and may trail the call's return.
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		ok := events["fetching image content"] && events["saved"] && layerDone
		got := len(events)
		mu.Unlock()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("progress lacks fetching/saved/a finished layer: %d events %v", got, events)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
