package container

import (
	"context"
	"errors"
	"testing"

	api "github.com/containerd/containerd/api/services/containers/v1"
	"github.com/containerd/errdefs"
	"google.golang.org/protobuf/types/known/anypb"

	"berth.dev/pkg/events"
	"berth.dev/pkg/namespace"
	"berth.dev/pkg/store/storetest"
)

func newStore(t testing.TB) (*Store, *events.Outbox) {
	t.Helper()
	db, ob := storetest.OpenWithOutbox(t, "taskd")
	return New(db, ob), ob
}

func sample(id string) *api.Container {
	return &api.Container{
		ID:      id,
		Image:   "docker.io/library/busybox:latest",
		Labels:  map[string]string{"a": "1", "b": "2"},
		Runtime: &api.Container_Runtime{Name: "io.containerd.runc.v2"},
		Spec:    &anypb.Any{TypeUrl: "types.containerd.io/opencontainers/runtime-spec/1/Spec", Value: []byte("{}")},
		Extensions: map[string]*anypb.Any{
			"x": {TypeUrl: "x", Value: []byte("1")},
		},
	}
}

func TestCreateGetDelete(t *testing.T) {
	s, ob := newStore(t)
	ctx := namespace.WithNamespace(context.Background(), "ns1")
	if _, err := s.Create(ctx, sample("c1")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, sample("c1")); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Fatalf("second create: %v, want AlreadyExists", err)
	}
	other := namespace.WithNamespace(context.Background(), "ns2")
	if _, err := s.Get(other, "c1"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("get in another namespace: %v, want NotFound", err)
	}
	got, err := s.Get(ctx, "c1")
	if err != nil || got.Image != sample("c1").Image || got.CreatedAt == nil {
		t.Fatalf("get: %v %v", got, err)
	}
	s.InUse = func(ns, id string) bool { return id == "c1" }
	if err := s.Delete(ctx, "c1"); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("delete with task: %v, want FailedPrecondition", err)
	}
	s.InUse = nil
	if err := s.Delete(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "c1"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("second delete: %v, want NotFound", err)
	}
	// create and delete, each with its event; the refused calls add none.
	if n, err := ob.Pending(); err != nil || n != 2 {
		t.Fatalf("pending events = %d (%v), want 2", n, err)
	}
}

func TestCreateRefusesBadInput(t *testing.T) {
	s, _ := newStore(t)
	ctx := namespace.WithNamespace(context.Background(), "ns1")
	for name, mutate := range map[string]func(*api.Container){
		"empty id":            func(c *api.Container) { c.ID = "" },
		"slash in id":         func(c *api.Container) { c.ID = "a/b" },
		"no runtime":          func(c *api.Container) { c.Runtime = nil },
		"no spec":             func(c *api.Container) { c.Spec = nil },
		"key, no snapshotter": func(c *api.Container) { c.SnapshotKey = "k" },
	} {
		c := sample("c1")
		mutate(c)
		if _, err := s.Create(ctx, c); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%s: %v, want InvalidArgument", name, err)
		}
	}
	if _, err := s.Create(context.Background(), sample("c1")); err == nil {
		t.Error("create without a namespace succeeded")
	}
}

func TestUpdateFieldMasks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		paths []string
		in    func(*api.Container)
		check func(*api.Container) bool
		errIs error
	}{
		{"one label", []string{"labels.a"}, func(c *api.Container) { c.Labels = map[string]string{"a": "9", "b": "x"} },
			func(c *api.Container) bool { return c.Labels["a"] == "9" && c.Labels["b"] == "2" }, nil},
		{"remove label", []string{"labels.b"}, func(c *api.Container) { c.Labels = nil },
			func(c *api.Container) bool { _, ok := c.Labels["b"]; return !ok && c.Labels["a"] == "1" }, nil},
		{"all labels", []string{"labels"}, func(c *api.Container) { c.Labels = map[string]string{"z": "0"} },
			func(c *api.Container) bool { return len(c.Labels) == 1 && c.Labels["z"] == "0" }, nil},
		{"image", []string{"image"}, func(c *api.Container) { c.Image = "other"; c.Labels = nil },
			func(c *api.Container) bool { return c.Image == "other" && c.Labels["a"] == "1" }, nil},
		{"snapshot key", []string{"snapshotkey", "snapshotter"}, func(c *api.Container) { c.SnapshotKey, c.Snapshotter = "k", "overlayfs" },
			func(c *api.Container) bool { return c.SnapshotKey == "k" && c.Snapshotter == "overlayfs" }, nil},
		{"one extension", []string{"extensions.y"}, func(c *api.Container) { c.Extensions = map[string]*anypb.Any{"y": {TypeUrl: "y"}} },
			func(c *api.Container) bool { return c.Extensions["x"] != nil && c.Extensions["y"] != nil }, nil},
		{"runtime", []string{"runtime"}, func(c *api.Container) { c.Runtime = &api.Container_Runtime{Name: "io.containerd.runc.v1"} },
			func(c *api.Container) bool { return c.Runtime.Name == "io.containerd.runc.v1" }, nil},
		{"unknown path", []string{"createdat"}, func(*api.Container) {}, nil, errdefs.ErrInvalidArgument},
		{"runtime removed", []string{"runtime"}, func(c *api.Container) { c.Runtime = nil }, nil, errdefs.ErrInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newStore(t)
			ctx := namespace.WithNamespace(context.Background(), "ns1")
			if _, err := s.Create(ctx, sample("c1")); err != nil {
				t.Fatal(err)
			}
			in := sample("c1")
			tc.in(in)
			_, err := s.Update(ctx, in, tc.paths)
			if tc.errIs != nil {
				if !errors.Is(err, tc.errIs) {
					t.Fatalf("update: %v, want %v", err, tc.errIs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(ctx, "c1")
			if err != nil || !tc.check(got) {
				t.Fatalf("after update: %+v %v", got, err)
			}
		})
	}
}

func TestListFilters(t *testing.T) {
	s, _ := newStore(t)
	ctx := namespace.WithNamespace(context.Background(), "ns1")
	for _, id := range []string{"c1", "c2", "c3"} {
		c := sample(id)
		c.Labels = map[string]string{"role": id}
		if _, err := s.Create(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		filters []string
		want    int
	}{
		{nil, 3},
		{[]string{"id==c2"}, 1},
		{[]string{"id==c2", "id==c3"}, 2},
		{[]string{`labels.role~=c[12]`}, 2},
		{[]string{"runtime.name==io.containerd.runc.v2,id==c1"}, 1},
		{[]string{"image==nope"}, 0},
	} {
		got, err := s.List(ctx, tc.filters...)
		if err != nil || len(got) != tc.want {
			t.Errorf("List(%q) = %d containers (%v), want %d", tc.filters, len(got), err, tc.want)
		}
	}
	if _, err := s.List(ctx, "id=="); err == nil {
		t.Error("a bad filter was accepted")
	}
}
