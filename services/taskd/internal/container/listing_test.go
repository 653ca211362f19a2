package container

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	api "github.com/containerd/containerd/api/services/containers/v1"
	"github.com/containerd/errdefs"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"berth.dev/pkg/batch"
	"berth.dev/pkg/events"
	"berth.dev/pkg/namespace"
	"berth.dev/pkg/store"
)

// decodeListing reads a listing as a client reads its Response.
func decodeListing(t testing.TB, l *Listing) []*api.Container {
	t.Helper()
	resp := &api.ListContainersResponse{}
	if err := proto.Unmarshal(l.Response(), resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.Containers) != l.Len() {
		t.Fatalf("response holds %d containers, Len says %d", len(resp.Containers), l.Len())
	}
	for i := range l.Len() {
		m := &api.ListContainerMessage{}
		if err := proto.Unmarshal(l.Entry(i), m); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(m.Container, resp.Containers[i]) {
			t.Fatalf("entry %d is %v, the response's %v", i, m.Container.ID, resp.Containers[i].ID)
		}
	}
	return resp.Containers
}

func ids(cs []*api.Container) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return strings.Join(out, ",")
}

func TestListingIsList(t *testing.T) {
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
	// Twice: read from the store, then from the cache.
	for range 2 {
		for _, fs := range [][]string{nil, {""}, {"id~=^c"}, {"labels.id==a", "id==b"}, {"id==none"}, {"id==none", ""}} {
			t.Run(strings.Join(fs, ";"), func(t *testing.T) {
				want, err := s.List(ctx, fs...)
				if err != nil {
					t.Fatal(err)
				}
				l, err := s.Listing(ctx, fs...)
				if err != nil {
					t.Fatal(err)
				}
				got := decodeListing(t, l)
				if len(got) != len(want) {
					t.Fatalf("Listing gave %d containers, List %d", len(got), len(want))
				}
				for i := range want {
					if !proto.Equal(got[i], want[i]) {
						t.Fatalf("container %d: Listing gave %v, List %v", i, got[i], want[i])
					}
				}
			})
		}
	}
	if _, err := s.Listing(ctx, "id=="); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("bad filter: %v, want InvalidArgument", err)
	}
	if _, err := s.Listing(context.Background()); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("no namespace: %v, want FailedPrecondition", err)
	}
}

// Every write is seen by the next list, of its namespace alone, also when
// the listing was cached before it; a store opened again lists what is
// stored.
func TestListingSeesWrites(t *testing.T) {
	dir := t.TempDir()
	open := func() (*Store, func()) {
		db, err := store.Open(dir, zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		ob, err := events.NewOutbox(db, "taskd")
		if err != nil {
			db.Close()
			t.Fatal(err)
		}
		var once sync.Once
		closeAll := func() { once.Do(func() { ob.Close(); db.Close() }) }
		t.Cleanup(closeAll)
		return New(db, ob), closeAll
	}
	s, closeStore := open()
	ctx := namespace.WithNamespace(context.Background(), "ns1")
	other := namespace.WithNamespace(context.Background(), "ns2")
	list := func(ctx context.Context, fs ...string) string {
		t.Helper()
		l, err := s.Listing(ctx, fs...)
		if err != nil {
			t.Fatal(err)
		}
		return ids(decodeListing(t, l))
	}
	check := func(ctx context.Context, want string, fs ...string) {
		t.Helper()
		// The first list may read the store, the second the cache.
		for range 2 {
			if got := list(ctx, fs...); got != want {
				t.Fatalf("listed %q, want %q", got, want)
			}
		}
	}
	check(ctx, "")
	for _, id := range []string{"b", "a"} {
		if _, err := s.Create(ctx, sample(id)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Create(other, sample("o"+id)); err != nil {
			t.Fatal(err)
		}
	}
	check(ctx, "a,b")
	check(other, "oa,ob")
	check(ctx, "a,b", "labels.a==1")
	check(ctx, "", "labels.x==1")

	up := sample("a")
	up.Labels = map[string]string{"x": "1"}
	if _, err := s.Update(ctx, up, []string{"labels.x"}); err != nil {
		t.Fatal(err)
	}
	check(ctx, "a", "labels.x==1")
	l, err := s.Listing(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := decodeListing(t, l)[0]; got.Labels["x"] != "1" {
		t.Fatalf("after the update, a's labels are %v", got.Labels)
	}
	// A failed write changes nothing and leaves the listing right.
	if _, err := s.Create(ctx, sample("a")); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Fatalf("second create: %v", err)
	}
	check(ctx, "a,b")
	if err := s.Delete(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	check(ctx, "a")
	check(other, "oa,ob")

	// Opened again (taskd restarted), the store lists what it holds.
	closeStore()
	s, _ = open()
	check(ctx, "a")
	check(other, "oa,ob")
}

// A namespace's listing is kept (tagged) while it has containers, and
// neither kept nor held once they are gone.
func TestListingOfEmptyNamespaceNotKept(t *testing.T) {
	s, _ := newStore(t)
	ctx := namespace.WithNamespace(context.Background(), "ns1")
	tagOf := func() string {
		t.Helper()
		l, err := s.Listing(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return l.Tag()
	}
	if tag := tagOf(); tag != "" {
		t.Fatalf("empty namespace listed with tag %q", tag)
	}
	if _, err := s.Create(ctx, sample("a")); err != nil {
		t.Fatal(err)
	}
	if tag := tagOf(); tag == "" || tagOf() != tag {
		t.Fatal("a namespace with a container is not kept")
	}
	if err := s.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if tag := tagOf(); tag != "" {
		t.Fatalf("namespace emptied listed with tag %q", tag)
	}
	s.listings.mu.Lock()
	defer s.listings.mu.Unlock()
	if n := len(s.listings.byNS); n != 0 {
		t.Fatalf("%d listings kept after the namespace emptied", n)
	}
}

// Lists running alongside writes never keep a listing that misses a write
// that returned: after the writes, every list sees all of them.
func TestListingConcurrentWrites(t *testing.T) {
	s, _ := newStore(t)
	ctx := namespace.WithNamespace(context.Background(), "ns")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.Listing(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	const n = 40
	for i := range n {
		if _, err := s.Create(ctx, sample(fmt.Sprintf("c%02d", i))); err != nil {
			t.Fatal(err)
		}
		l, err := s.Listing(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if l.Len() != i+1 {
			t.Fatalf("after %d creates, listed %d", i+1, l.Len())
		}
	}
	close(stop)
	wg.Wait()
	l, err := s.Listing(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != n {
		t.Fatalf("listed %d, want %d", l.Len(), n)
	}
}

func TestListingBatches(t *testing.T) {
	l := &Listing{}
	for _, n := range []int{10, 10, 10, 40, 5, 5} {
		l.add([]byte(strings.Repeat("x", n)))
	}
	// Entries are 2 bytes of tag and length more than their records.
	var got []int
	joined := []byte{}
	for _, b := range l.Batches(25) {
		got = append(got, len(b))
		joined = append(joined, b...)
	}
	if fmt.Sprint(got) != "[24 12 42 14]" {
		t.Fatalf("batches of %v bytes", got)
	}
	if string(joined) != string(l.Response()) {
		t.Fatal("the batches are not the response, in order")
	}
	if len((&Listing{}).Batches(25)) != 0 {
		t.Fatal("an empty listing has batches")
	}
	// Each batch splits as pkg/batch does.
	for _, b := range l.Batches(25) {
		if _, ok := batch.Split(b); !ok {
			t.Fatalf("batch %q does not split", b)
		}
	}
}

// BenchmarkList reads 500 containers of 2.4 kB: decoded, as List does, and
// as a list sends them, from the cached listing.
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
	b.Run("listing", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if l, err := s.Listing(ctx); err != nil || l.Len() != 500 {
				b.Fatalf("listed %d: %v", l.Len(), err)
			}
		}
	})
}
