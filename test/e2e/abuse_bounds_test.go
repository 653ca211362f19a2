//go:build e2e

package e2e

import (
	"context"
	"testing"
	"time"

	contentapi "github.com/containerd/containerd/api/services/content/v1"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"google.golang.org/grpc"

	"berth.dev/test/e2e/harness"
)

// ingestTimeout is the stack's BERTH_IMAGED_INGEST_TIMEOUT.
const ingestTimeout = 2 * time.Second

// TestAbuseBounds: the bounds a hostile or broken client or registry meets
// beyond TestAPIAbuseIsBounded's: a write opened and left idle expires.
func TestAbuseBounds(t *testing.T) {
	st := harness.Start(t, harness.WithEnv("BERTH_IMAGED_INGEST_TIMEOUT="+ingestTimeout.String()))
	client, err := containerd.New(st.Socket, containerd.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	ctx := namespaces.WithNamespace(context.Background(), "bounds-"+randomHex(t, 6))

	t.Run("idle write expires", func(t *testing.T) {
		// A client opens a write, sends a little and then nothing: the
		// stream ends with Aborted, the ref is free and the data gone.
		ref := "idle-" + randomHex(t, 6)
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		ws, err := contentapi.NewContentClient(client.Conn().(grpc.ClientConnInterface)).Write(sctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := ws.Send(&contentapi.WriteContentRequest{Action: contentapi.WriteAction_WRITE, Ref: ref, Data: []byte("partial")}); err != nil {
			t.Fatal(err)
		}
		if resp, err := ws.Recv(); err != nil || resp.Offset != 7 {
			t.Fatalf("first write: %v, %v", resp, err)
		}
		if st, err := client.ContentStore().Status(ctx, ref); err != nil || st.Offset != 7 {
			t.Fatalf("status of the open write: %+v, %v", st, err)
		}
		_, err = ws.Recv() // returns once the server ends the stream
		if err = errgrpc.ToNative(err); !errdefs.IsAborted(err) {
			t.Fatalf("the idle write ended with %v, want Aborted", err)
		}
		if _, err := client.ContentStore().Status(ctx, ref); !errdefs.IsNotFound(err) {
			t.Fatalf("the expired write's data: %v, want NotFound", err)
		}
		w, err := client.ContentStore().Writer(ctx, content.WithRef(ref))
		if err != nil {
			t.Fatalf("the expired write's ref is still taken: %v", err)
		}
		w.Close()
	})
}
