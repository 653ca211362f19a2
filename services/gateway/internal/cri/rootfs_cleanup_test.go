package cri

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	containersapi "github.com/containerd/containerd/api/services/containers/v1"
	snapshotsapi "github.com/containerd/containerd/api/services/snapshots/v1"
	tasksapi "github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/errdefs"
	"google.golang.org/protobuf/types/known/timestamppb"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"berth.dev/pkg/store/storetest"
	"berth.dev/services/gateway/internal/cri/store"
)

// fakeSnaps lists what it was given and records removals.
type fakeSnaps struct {
	Snapshots
	mu      sync.Mutex
	infos   []*snapshotsapi.Info
	removed []string
}

func (f *fakeSnaps) List(context.Context, string) ([]*snapshotsapi.Info, error) { return f.infos, nil }

func (f *fakeSnaps) Remove(_ context.Context, _, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed = append(f.removed, key)
	return nil
}

// fakeTasks knows the given taskd containers, records the ids
// DeleteContainer is asked for and fails it with deleteErr.
type fakeTasks struct {
	Tasks
	containers []*containersapi.Container
	deleteErr  error
	deleted    []string
}

func (f *fakeTasks) Containers(context.Context) ([]*containersapi.Container, error) {
	return f.containers, nil
}

func (f *fakeTasks) DeleteTask(context.Context, string) (*tasksapi.DeleteResponse, error) {
	return nil, errdefs.ErrNotFound
}

func (f *fakeTasks) DeleteContainer(_ context.Context, id string) error {
	f.deleted = append(f.deleted, id)
	return f.deleteErr
}

func newTestService(t *testing.T, tasks Tasks, snaps Snapshots) *RuntimeService {
	t.Helper()
	return New(Config{}, store.New(storetest.Open(t)), tasks, snaps, nil, nil)
}

func hexID(c byte) string { return strings.Repeat(string(c), 64) }

func TestSweepRootfsRemovesOnlyOldUnownedCRISnapshots(t *testing.T) {
	old := timestamppb.New(time.Now().Add(-2 * orphanAge))
	young := timestamppb.Now()
	active, committed := snapshotsapi.Kind_ACTIVE, snapshotsapi.Kind_COMMITTED
	snaps := &fakeSnaps{infos: []*snapshotsapi.Info{
		{Name: hexID('a'), Kind: active, CreatedAt: old},     // orphan: removed
		{Name: hexID('b'), Kind: active, CreatedAt: young},   // may be a create in flight
		{Name: hexID('c'), Kind: active, CreatedAt: old},     // a CRI container's
		{Name: hexID('d'), Kind: active, CreatedAt: old},     // a CRI sandbox's
		{Name: hexID('e'), Kind: active, CreatedAt: old},     // a taskd container's
		{Name: hexID('f'), Kind: committed, CreatedAt: old},  // an image layer
		{Name: "my-container", Kind: active, CreatedAt: old}, // not a CRI id
	}}
	tasks := &fakeTasks{containers: []*containersapi.Container{{ID: "x", SnapshotKey: hexID('e')}}}
	s := newTestService(t, tasks, snaps)
	ctx := context.Background()
	sb := &store.Sandbox{ID: hexID('d'), Name: "pod", State: store.SandboxReady}
	if err := s.Store.AddSandbox(ctx, sb); err != nil {
		t.Fatal(err)
	}
	if err := s.Store.AddContainer(ctx, &store.Container{ID: hexID('c'), SandboxID: sb.ID, Name: "ctr"}); err != nil {
		t.Fatal(err)
	}
	if err := s.sweepRootfs(ctx); err != nil {
		t.Fatal(err)
	}
	if strings.Join(snaps.removed, ",") != hexID('a') {
		t.Fatalf("removed %v, want only %s", snaps.removed, hexID('a'))
	}
}

func TestRemoveContainerKeepsTheRecordWhenTaskdFails(t *testing.T) {
	snaps := &fakeSnaps{}
	tasks := &fakeTasks{deleteErr: errdefs.ErrUnavailable}
	s := newTestService(t, tasks, snaps)
	ctx := context.Background()
	sb := &store.Sandbox{ID: hexID('1'), Name: "pod", State: store.SandboxReady}
	if err := s.Store.AddSandbox(ctx, sb); err != nil {
		t.Fatal(err)
	}
	c := &store.Container{ID: hexID('2'), SandboxID: sb.ID, Name: "ctr", State: store.ContainerExited}
	if err := s.Store.AddContainer(ctx, c); err != nil {
		t.Fatal(err)
	}
	req := &runtimeapi.RemoveContainerRequest{ContainerId: c.ID}
	if _, err := s.RemoveContainer(ctx, req); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Fatalf("RemoveContainer with taskd failing: %v", err)
	}
	if _, err := s.Store.Container(c.ID); err != nil {
		t.Fatalf("the record is gone after a failed removal: %v", err)
	}

	tasks.deleteErr = nil
	if _, err := s.RemoveContainer(ctx, req); err != nil {
		t.Fatalf("second RemoveContainer: %v", err)
	}
	if _, err := s.Store.Container(c.ID); !errdefs.IsNotFound(err) {
		t.Fatalf("record after removal: %v", err)
	}
	s.cleanups.Wait()
	if len(snaps.removed) == 0 || snaps.removed[len(snaps.removed)-1] != c.ID {
		t.Fatalf("rootfs removals %v, want %s", snaps.removed, c.ID)
	}
}

// TestReconcileDropsContainersTaskdDoesNotHave: a record an earlier run
// left without a taskd container (its deletion cut short) goes with its
// rootfs; one taskd has, or one this run just made, stays.
func TestReconcileDropsContainersTaskdDoesNotHave(t *testing.T) {
	snaps := &fakeSnaps{}
	tasks := &fakeTasks{containers: []*containersapi.Container{{ID: hexID('1')}}}
	s := newTestService(t, tasks, snaps)
	ctx := context.Background()
	sb := &store.Sandbox{ID: hexID('0'), Name: "pod", State: store.SandboxReady}
	if err := s.Store.AddSandbox(ctx, sb); err != nil {
		t.Fatal(err)
	}
	earlier := s.started.Add(-time.Minute)
	for _, c := range []*store.Container{
		{ID: hexID('1'), Name: "known", CreatedAt: earlier},
		{ID: hexID('2'), Name: "void", CreatedAt: earlier},
		{ID: hexID('3'), Name: "new", CreatedAt: time.Now()},
	} {
		c.SandboxID, c.State = sb.ID, store.ContainerCreated
		if err := s.Store.AddContainer(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.dropVoidContainers(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store.Container(hexID('2')); !errdefs.IsNotFound(err) {
		t.Fatalf("the void record stays: %v", err)
	}
	for _, id := range []string{hexID('1'), hexID('3')} {
		if _, err := s.Store.Container(id); err != nil {
			t.Fatalf("record %s dropped: %v", id[:1], err)
		}
	}
	// taskd's deletion of the id undoes a preparation holding the rootfs.
	if strings.Join(tasks.deleted, ",") != hexID('2') {
		t.Fatalf("taskd deletions %v, want %s", tasks.deleted, hexID('2'))
	}
	s.cleanups.Wait()
	if strings.Join(snaps.removed, ",") != hexID('2') {
		t.Fatalf("rootfs removals %v, want %s", snaps.removed, hexID('2'))
	}
}
