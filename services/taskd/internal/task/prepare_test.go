package task

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	containersapi "github.com/containerd/containerd/api/services/containers/v1"
	"github.com/containerd/containerd/api/types"
	"github.com/containerd/errdefs"
	"google.golang.org/protobuf/types/known/anypb"

	"berth.dev/pkg/namespace"
	"berth.dev/services/taskd/internal/shim"
)

func TestPreparationFitsOnlyTheSameSpecRuntimeAndRootfs(t *testing.T) {
	rootfs := func(upper string) []*types.Mount {
		return []*types.Mount{{Type: "overlay", Source: "overlay", Options: []string{"upperdir=" + upper}}}
	}
	p := &preparation{choice: runtimeChoice{Binary: "runc"}, spec: []byte(`{"a":1}`), rootfs: rootfs("/u1"), shim: &shim.Client{}}
	if !p.fits(runtimeChoice{Binary: "runc"}, rootfs("/u1"), []byte(`{"a":1}`)) {
		t.Fatal("the same create does not fit")
	}
	for name, ok := range map[string]bool{
		"another spec":       p.fits(runtimeChoice{Binary: "runc"}, rootfs("/u1"), []byte(`{"a":2}`)),
		"another runtime":    p.fits(runtimeChoice{Binary: "crun"}, rootfs("/u1"), []byte(`{"a":1}`)),
		"another driver":     p.fits(runtimeChoice{Binary: "runc", SystemdCgroup: true}, rootfs("/u1"), []byte(`{"a":1}`)),
		"another rootfs":     p.fits(runtimeChoice{Binary: "runc"}, rootfs("/u2"), []byte(`{"a":1}`)),
		"no rootfs":          p.fits(runtimeChoice{Binary: "runc"}, nil, []byte(`{"a":1}`)),
		"more rootfs mounts": p.fits(runtimeChoice{Binary: "runc"}, append(rootfs("/u1"), rootfs("/u1")...), []byte(`{"a":1}`)),
	} {
		if ok {
			t.Errorf("%s fits", name)
		}
	}
}

// TestFailedPreparationLeavesNothing: a preparation whose shim cannot
// start leaves no bundle and no entry, so a later create or prepare starts
// afresh.
func TestFailedPreparationLeavesNothing(t *testing.T) {
	m, _ := newTestManager(t)
	dir := t.TempDir()
	m.cfg.StateDir, m.cfg.SocketDir = filepath.Join(dir, "shims"), filepath.Join(dir, "s")
	m.cfg.ShimBinary = filepath.Join(dir, "no-such-shim")
	m.cfg.DefaultRuntime = "/bin/true" // any executable: the shim fails first
	ctx := namespace.WithNamespace(context.Background(), "ns")
	spec := &anypb.Any{TypeUrl: "types.containerd.io/opencontainers/runtime-spec/1/Spec", Value: []byte(`{}`)}
	if _, err := m.containers.Create(ctx, &containersapi.Container{ID: "c1", Runtime: &containersapi.Container_Runtime{Name: "io.containerd.runc.v2"}, Spec: spec}); err != nil {
		t.Fatal(err)
	}
	if err := m.Prepare(ctx, "c1", spec, nil, nil); err == nil || errdefs.IsNotFound(err) {
		t.Fatalf("Prepare with no shim binary: %v, want the shim's failure", err)
	}
	if _, err := os.Stat(m.bundle("ns", "c1")); !os.IsNotExist(err) {
		t.Fatalf("bundle left: %v", err)
	}
	m.mu.Lock()
	n := len(m.prepared)
	m.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d preparations left", n)
	}
	if p := m.takePrepared("ns", "c1"); p != nil {
		t.Fatal("a failed preparation was handed to a create")
	}
}

// TestPreparationNeedsTheContainer: a preparation of an id no container
// has is refused before anything is made: nothing would list or delete
// its shim and mount.
func TestPreparationNeedsTheContainer(t *testing.T) {
	m, _ := newTestManager(t)
	dir := t.TempDir()
	m.cfg.StateDir, m.cfg.SocketDir = filepath.Join(dir, "shims"), filepath.Join(dir, "s")
	m.cfg.ShimBinary = filepath.Join(dir, "no-such-shim")
	m.cfg.DefaultRuntime = "/bin/true"
	ctx := namespace.WithNamespace(context.Background(), "ns")
	spec := &anypb.Any{TypeUrl: "types.containerd.io/opencontainers/runtime-spec/1/Spec", Value: []byte(`{}`)}
	if err := m.Prepare(ctx, "never-created", spec, nil, nil); !errdefs.IsNotFound(err) {
		t.Fatalf("Prepare of an id with no container: %v, want NotFound", err)
	}
	if _, err := os.Stat(m.bundle("ns", "never-created")); !os.IsNotExist(err) {
		t.Fatalf("bundle made: %v", err)
	}
	if p := m.takePrepared("ns", "never-created"); p != nil {
		t.Fatal("a preparation of an id with no container was kept")
	}
}
