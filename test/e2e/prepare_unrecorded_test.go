//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math/rand"
	"path/filepath"
	"testing"
	"time"

	containersapi "github.com/containerd/containerd/api/services/containers/v1"
	"github.com/containerd/errdefs"
	"google.golang.org/protobuf/types/known/anypb"

	"berth.dev/pkg/grpcclient"
	"berth.dev/pkg/namespace"
	tasksv1 "berth.dev/proto/berth/tasks/v1"
	"berth.dev/test/e2e/harness"
)

// TestPrepareTaskOfNoContainerIsRefused: berth.tasks.v1 PrepareTask,
// reachable on the node socket, of an id no container has is NotFound and
// starts no shim: nothing would list or delete it.
func TestPrepareTaskOfNoContainerIsRefused(t *testing.T) {
	st := harness.Start(t)
	cc, err := grpcclient.Dial(st.Socket)
	if err != nil {
		t.Fatal(err)
	}
	// Closed after the deletion below: cleanups run last registered first.
	t.Cleanup(func() { cc.Close() })
	ns := fmt.Sprintf("prep-%d", rand.Int63())
	id := fmt.Sprintf("unrecorded-%d", rand.Int63())
	ctx, cancel := context.WithTimeout(namespace.WithNamespace(context.Background(), ns), time.Minute)
	defer cancel()
	// A container deletion of the id undoes a preparation, should one be
	// made.
	t.Cleanup(func() {
		containersapi.NewContainersClient(cc).Delete(namespace.WithNamespace(context.Background(), ns), &containersapi.DeleteContainerRequest{ID: id})
	})
	spec := &anypb.Any{TypeUrl: "types.containerd.io/opencontainers/runtime-spec/1/Spec",
		Value: []byte(`{"ociVersion":"1.0.2","process":{"args":["true"],"cwd":"/"},"root":{"path":"rootfs"}}`)}
	_, err = tasksv1.NewTasksClient(cc).PrepareTask(ctx, &tasksv1.PrepareTaskRequest{ContainerId: id, Spec: spec})
	// The client turns codes into errdefs errors.
	if !errdefs.IsNotFound(err) {
		t.Errorf("PrepareTask of an id with no container: %v, want NotFound", err)
	}
	assertNoTaskLeft(t, id, filepath.Join(st.State, "shims", ns, id))
}
