//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"

	sandboxapi "github.com/containerd/containerd/api/services/sandbox/v1"
	"github.com/containerd/containerd/api/types"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func sandboxStore(t *testing.T, socket string) sandboxapi.StoreClient {
	cc, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return sandboxapi.NewStoreClient(cc)
}

func inNamespace(ns string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "containerd-namespace", ns)
}

// containerd's sandbox store lists the CRI's pods in k8s.io (read-only
// there) and keeps the records clients create elsewhere.
func TestSandboxStore(t *testing.T) {
	net := newCRINet(t)
	st, rs := criStack(t, net)
	pod := runPod(t, rs, podConfig(t, "sbstore"))
	store := sandboxStore(t, st.Socket)

	k8s := inNamespace("k8s.io")
	list, err := store.List(k8s, &sandboxapi.StoreListRequest{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, sb := range list.List {
		if sb.SandboxID == pod {
			found = sb.Sandboxer == "podsandbox" && sb.Labels["app"] == "sbstore"
		}
	}
	if !found {
		t.Fatalf("pod %s not listed as a podsandbox record: %v", pod, list.List)
	}
	if _, err := store.Delete(k8s, &sandboxapi.StoreDeleteRequest{SandboxID: pod}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("deleting a CRI pod's record: %v, want FailedPrecondition", err)
	}

	ctx := inNamespace("sb-" + randSuffix())
	rec := &types.Sandbox{SandboxID: "mine", Runtime: &types.Sandbox_Runtime{Name: "io.containerd.runc.v2"}, Labels: map[string]string{"a": "1"}}
	if _, err := store.Create(ctx, &sandboxapi.StoreCreateRequest{Sandbox: rec}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Create(ctx, &sandboxapi.StoreCreateRequest{Sandbox: rec}); status.Code(err) != codes.AlreadyExists {
		t.Fatalf("second create: %v, want AlreadyExists", err)
	}
	upd, err := store.Update(ctx, &sandboxapi.StoreUpdateRequest{Sandbox: &types.Sandbox{SandboxID: "mine", Labels: map[string]string{"b": "2"}}, Fields: []string{"labels.b"}})
	if err != nil || upd.Sandbox.Labels["a"] != "1" || upd.Sandbox.Labels["b"] != "2" || upd.Sandbox.Runtime.GetName() == "" {
		t.Fatalf("update labels.b: %v %v", upd, err)
	}
	got, err := store.List(ctx, &sandboxapi.StoreListRequest{Filters: []string{"labels.b==2"}})
	if err != nil || len(got.List) != 1 || got.List[0].SandboxID != "mine" {
		t.Fatalf("filtered list: %v %v", got, err)
	}
	if _, err := store.Get(inNamespace("other-"+randSuffix()), &sandboxapi.StoreGetRequest{SandboxID: "mine"}); status.Code(err) != codes.NotFound {
		t.Fatalf("get from another namespace: %v, want NotFound", err)
	}
	if _, err := store.Delete(ctx, &sandboxapi.StoreDeleteRequest{SandboxID: "mine"}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Get(ctx, &sandboxapi.StoreGetRequest{SandboxID: "mine"}); status.Code(err) != codes.NotFound {
		t.Fatalf("get after delete: %v, want NotFound", err)
	}

	// containerd 2.x's own ctr, where there is one.
	if bin := ctr2OrEmpty(); bin != "" {
		out, err := runCtr2(t, bin, st, "-n", "k8s.io", "sandboxes", "ls")
		if err != nil || !strings.Contains(out, pod) {
			t.Fatalf("ctr sandboxes ls: %v\n%s", err, out)
		}
	}
}
