package image

import (
	"context"
	"errors"
	"testing"

	api "github.com/containerd/containerd/api/services/images/v1"
	"github.com/containerd/containerd/api/types"
	"github.com/containerd/errdefs"

	"berth.dev/pkg/namespace"
	"berth.dev/pkg/store/storetest"
)

const dgst = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func newStore(t *testing.T) *Store {
	return New(storetest.OpenWithOutbox(t, "test"))
}

func img(name string, lbls map[string]string) *api.Image {
	return &api.Image{Name: name, Labels: lbls, Target: &types.Descriptor{
		MediaType: "application/vnd.oci.image.manifest.v1+json", Digest: dgst, Size: 10}}
}

func TestCreateGetListUpdateDelete(t *testing.T) {
	s := newStore(t)
	ctx := namespace.WithNamespace(context.Background(), "a")
	other := namespace.WithNamespace(context.Background(), "b")
	if _, err := s.Create(ctx, img("x:1", map[string]string{"k": "v"})); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, img("y:1", nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, img("x:1", nil)); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Fatalf("second create: %v, want AlreadyExists", err)
	}
	if _, err := s.Get(other, "x:1"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("get in another namespace: %v, want NotFound", err)
	}
	for _, tc := range []struct {
		filter string
		want   int
	}{{"", 2}, {"name==x:1", 1}, {"labels.k==v", 1}, {"labels.k==w", 0}} {
		var fs []string
		if tc.filter != "" {
			fs = []string{tc.filter}
		}
		got, err := s.List(ctx, fs...)
		if err != nil || len(got) != tc.want {
			t.Errorf("list %q: %d images, %v; want %d", tc.filter, len(got), err, tc.want)
		}
	}
	up, err := s.Update(ctx, img("x:1", map[string]string{"n": "1"}), []string{"labels.n"})
	if err != nil {
		t.Fatal(err)
	}
	if up.Labels["k"] != "v" || up.Labels["n"] != "1" {
		t.Fatalf("labels after update: %v", up.Labels)
	}
	if _, err := s.Update(ctx, img("x:1", nil), []string{"bogus"}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("update of unknown field: %v, want InvalidArgument", err)
	}
	if err := s.Delete(ctx, "x:1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "x:1"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("second delete: %v, want NotFound", err)
	}
}

func TestCreateInvalid(t *testing.T) {
	s := newStore(t)
	ctx := namespace.WithNamespace(context.Background(), "a")
	bad := img("z", nil)
	bad.Target.Digest = "nope"
	for name, in := range map[string]*api.Image{
		"empty name": img(" ", nil),
		"no target":  {Name: "z"},
		"bad digest": bad,
	} {
		if _, err := s.Create(ctx, in); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%s: %v, want InvalidArgument", name, err)
		}
	}
	if _, err := s.Create(context.Background(), img("z", nil)); err == nil {
		t.Error("create without a namespace succeeded")
	}
}
