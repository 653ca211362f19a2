package namespace

import (
	"context"
	"testing"

	"github.com/containerd/errdefs"
	"go.uber.org/zap"

	"berth.dev/pkg/events"
	"berth.dev/pkg/store"
)

func newStore(t *testing.T) *Store {
	db, err := store.Open(t.TempDir(), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ob, err := events.NewOutbox(db, "test")
	if err != nil {
		t.Fatal(err)
	}
	return New(db, ob)
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
