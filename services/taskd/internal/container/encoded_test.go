package container

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	api "github.com/containerd/containerd/api/services/containers/v1"
	"github.com/containerd/errdefs"
	"google.golang.org/protobuf/proto"

	"berth.dev/pkg/namespace"
)

func TestListEncodedIsList(t *testing.T) {
	s, _ := newStore(t)
	ctx := namespace.WithNamespace(context.Background(), "ns1")
	for _, id := range []string{"b", "a", "c1", "c2"} {
		c := sample(id)
		c.Labels["id"] = id
		if _, err := s.Create(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Create(namespace.WithNamespace(context.Background(), "ns2"), sample("other")); err != nil {
		t.Fatal(err)
	}
	for _, fs := range [][]string{nil, {""}, {"id~=^c"}, {"labels.id==a", "id==b"}, {"id==none"}, {"id==none", ""}} {
		t.Run(strings.Join(fs, ";"), func(t *testing.T) {
			want, err := s.List(ctx, fs...)
			if err != nil {
				t.Fatal(err)
			}
			var got []*api.Container
			err = s.ListEncoded(ctx, func(b []byte) {
				c := &api.Container{}
				if err := proto.Unmarshal(b, c); err != nil {
					t.Fatal(err)
				}
				got = append(got, c)
			}, fs...)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("ListEncoded gave %d containers, List %d", len(got), len(want))
			}
			for i := range want {
				if !proto.Equal(got[i], want[i]) {
					t.Fatalf("container %d: ListEncoded gave %v, List %v", i, got[i], want[i])
				}
			}
		})
	}
	if err := s.ListEncoded(ctx, func([]byte) {}, "id=="); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("bad filter: %v, want InvalidArgument", err)
	}
	if err := s.ListEncoded(context.Background(), func([]byte) {}); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("no namespace: %v, want FailedPrecondition", err)
	}
}

// BenchmarkList reads 500 containers of 2.4 kB, decoded and encoded.
func BenchmarkList(b *testing.B) {
	s, _ := newStore(b)
	ctx := namespace.WithNamespace(context.Background(), "bench")
	for i := 0; i < 500; i++ {
		c := sample(fmt.Sprintf("c%03d", i))
		c.Spec.Value = []byte(strings.Repeat("s", 2200))
		if _, err := s.Create(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("decoded", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if cs, err := s.List(ctx); err != nil || len(cs) != 500 {
				b.Fatalf("listed %d: %v", len(cs), err)
			}
		}
	})
	b.Run("encoded", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			n := 0
			if err := s.ListEncoded(ctx, func([]byte) { n++ }); err != nil || n != 500 {
				b.Fatalf("listed %d: %v", n, err)
			}
		}
	})
}
