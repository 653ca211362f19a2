package namespace

import (
	"context"
	"testing"

	"github.com/containerd/errdefs"

	"berth.dev/pkg/store/storetest"
)

func newStore(t *testing.T) *Store {
	return New(storetest.OpenWithOutbox(t, "test"))
}

func TestLabelsOfANamespaceNotCreatedYet(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	got, err := s.Labels(ctx, "default")
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("Labels(default) before any write = %v, %v; want empty labels", got, err)
	}
	// Asking does not create it: it is still absent from the list.
	if list, err := s.List(ctx); err != nil || len(list) != 0 {
		t.Fatalf("List after Labels = %v, %v", list, err)
	}
	if _, err := s.Get(ctx, "default"); !errdefs.IsNotFound(err) {
		t.Fatalf("Get of a namespace never created: %v, want not found", err)
	}
	if err := s.Create(ctx, &Namespace{Name: "default", Labels: map[string]string{"team": "a"}}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Labels(ctx, "default"); err != nil || got["team"] != "a" || len(got) != 1 {
		t.Fatalf("Labels(default) after create = %v, %v", got, err)
	}
}

func TestLabelsOfAnInvalidName(t *testing.T) {
	s := newStore(t)
	for _, name := range []string{"", "-starts-with-dash", "has space", "UPPER/slash"} {
		if _, err := s.Labels(context.Background(), name); !errdefs.IsInvalidArgument(err) {
			t.Errorf("Labels(%q) = %v, want invalid argument", name, err)
		}
	}
}
