package listcache

import (
	"context"
	"testing"

	"google.golang.org/grpc/metadata"
)

// Tags never repeat, within a process or across two (a restarted daemon).
func TestTagsAreUnique(t *testing.T) {
	a, b := NewTagger(), NewTagger()
	seen := map[string]bool{}
	for range 3 {
		for _, tg := range []*Tagger{a, b} {
			tag := tg.Next()
			if tag == "" || tag == None || seen[tag] {
				t.Fatalf("tag %q repeated or empty", tag)
			}
			seen[tag] = true
		}
	}
}

func TestAsked(t *testing.T) {
	if _, ok := Asked(context.Background()); ok {
		t.Fatal("asked without metadata")
	}
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(Held, "x-1"))
	if held, ok := Asked(ctx); !ok || held != "x-1" {
		t.Fatalf("asked: %q, %v", held, ok)
	}
}
