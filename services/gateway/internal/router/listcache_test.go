package router

import (
	"context"
	"strings"
	"sync"
	"testing"

	containersapi "github.com/containerd/containerd/api/services/containers/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"berth.dev/pkg/batch"
	"berth.dev/pkg/listcache"
	"berth.dev/pkg/namespace"
)

// taggingServer stands for taskd's container lists with pkg/listcache:
// each namespace's listing has a tag, and a caller holding it is told
// "unchanged" with no message. untagged answers without a tag (a
// namespace being written). It counts the messages it sends and records
// the tags it was asked with.
type taggingServer struct {
	containersapi.UnimplementedContainersServer
	mu       sync.Mutex
	byNS     map[string][]*containersapi.Container
	tags     map[string]string
	untagged bool
	sent     int
	asked    []string
}

func (s *taggingServer) set(ns, tag string, cs []*containersapi.Container) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byNS[ns], s.tags[ns] = cs, tag
}

func (s *taggingServer) stats() (sent int, asked []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sent, asked, s.sent, s.asked = s.sent, s.asked, 0, nil
	return sent, asked
}

// answer returns the header and the containers to send.
func (s *taggingServer) answer(ctx context.Context, filters []string) (metadata.MD, []*containersapi.Container) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ns, _ := namespace.FromContext(ctx)
	cs := s.byNS[ns]
	if len(filters) > 0 {
		var out []*containersapi.Container
		for _, c := range cs {
			if strings.HasPrefix(c.ID, strings.TrimPrefix(filters[0], "id~=")) {
				out = append(out, c)
			}
		}
		cs = out
	}
	held, ok := listcache.Asked(ctx)
	if !ok {
		s.asked = append(s.asked, "")
	} else {
		s.asked = append(s.asked, held)
	}
	if !ok || s.untagged || len(filters) > 0 {
		return nil, cs
	}
	if held == s.tags[ns] {
		return metadata.Pairs(listcache.Unchanged, "1"), nil
	}
	return metadata.Pairs(listcache.Tag, s.tags[ns]), cs
}

func (s *taggingServer) List(ctx context.Context, req *containersapi.ListContainersRequest) (*containersapi.ListContainersResponse, error) {
	md, cs := s.answer(ctx, req.Filters)
	if md != nil {
		if err := grpc.SetHeader(ctx, md); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	s.sent += len(cs)
	s.mu.Unlock()
	return &containersapi.ListContainersResponse{Containers: cs}, nil
}

func (s *taggingServer) ListStream(req *containersapi.ListContainersRequest, ss containersapi.Containers_ListStreamServer) error {
	md, cs := s.answer(ss.Context(), req.Filters)
	if md != nil {
		if err := ss.SetHeader(md); err != nil {
			return err
		}
	}
	var batches [][]byte
	for _, c := range cs {
		b, err := proto.Marshal(c)
		if err != nil {
			return err
		}
		batches = batch.Add(batches, b)
	}
	for _, b := range batches {
		if err := ss.SendMsg(batch.Message(b)); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.sent += len(cs)
	s.mu.Unlock()
	return nil
}

func TestListsAnsweredFromHeldListing(t *testing.T) {
	srv := &taggingServer{byNS: map[string][]*containersapi.Container{}, tags: map[string]string{}}
	all := testContainers(300, 2000)
	srv.set("ns", "t1", all)
	srv.set("other", "o1", all[:2])
	f := newFixture(t, func(s *grpc.Server) { containersapi.RegisterContainersServer(s, srv) })
	client := containersapi.NewContainersClient(f.client)
	ns := "ns"
	ctx := namespace.WithNamespace(context.Background(), ns)

	check := func(name string, want []*containersapi.Container, wantSent int, wantAsked string, fs ...string) {
		t.Helper()
		for _, stream := range []bool{true, false} {
			var got []*containersapi.Container
			var header metadata.MD
			if stream {
				ss, err := client.ListStream(ctx, &containersapi.ListContainersRequest{Filters: fs})
				if err != nil {
					t.Fatal(err)
				}
				if header, err = ss.Header(); err != nil {
					t.Fatal(err)
				}
				for {
					m, err := ss.Recv()
					if err != nil {
						break
					}
					got = append(got, m.Container)
				}
			} else {
				resp, err := client.List(ctx, &containersapi.ListContainersRequest{Filters: fs}, grpc.Header(&header))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				got = resp.Containers
			}
			if len(got) != len(want) {
				t.Fatalf("%s (stream %v): listed %d, want %d", name, stream, len(got), len(want))
			}
			for i := range want {
				if !proto.Equal(got[i], want[i]) {
					t.Fatalf("%s (stream %v): container %d is %v, want %v", name, stream, i, got[i].ID, want[i].ID)
				}
			}
			if len(header.Get(listcache.Tag))+len(header.Get(listcache.Unchanged)) > 0 {
				t.Fatalf("%s: the client got the daemon's listing header %v", name, header)
			}
			sent, asked := srv.stats()
			if sent != wantSent || len(asked) != 1 || asked[0] != wantAsked {
				t.Fatalf("%s (stream %v): the daemon sent %d containers, asked with %q; want %d, %q", name, stream, sent, asked, wantSent, wantAsked)
			}
			// After the first call the gateway holds the listing.
			wantSent, wantAsked = 0, srv.tags[ns]
			if len(fs) > 0 {
				wantSent, wantAsked = len(want), ""
			}
		}
	}
	check("first", all, 300, listcache.None)
	check("again", all, 0, "t1")
	check("filtered, forwarded", all[100:200], 100, "", "id~=c01")

	srv.set("ns", "t2", all[:5])
	check("changed", all[:5], 5, "t1")

	// Another namespace holds its own.
	ns = "other"
	ctx = namespace.WithNamespace(context.Background(), ns)
	check("other namespace", all[:2], 2, listcache.None)

	// A namespace deleted is no longer held.
	f.router.ForgetNamespace("other")
	check("other namespace, after its delete", all[:2], 2, listcache.None)

	// An untagged answer drops what the gateway held.
	ctx = namespace.WithNamespace(context.Background(), "ns")
	srv.mu.Lock()
	srv.untagged = true
	srv.mu.Unlock()
	for range 2 {
		if _, err := client.List(ctx, &containersapi.ListContainersRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, asked := srv.stats(); len(asked) != 2 || asked[0] != "t2" || asked[1] != listcache.None {
		t.Fatalf("untagged: asked with %q, want t2 then none", asked)
	}
}

// BenchmarkListStreamHeld lists 500 containers of 2.4 kB through the
// gateway, answered from the listing it holds.
func BenchmarkListStreamHeld(b *testing.B) {
	srv := &taggingServer{byNS: map[string][]*containersapi.Container{}, tags: map[string]string{}}
	srv.set("default", "t1", testContainers(500, 2200))
	f := newFixture(b, func(s *grpc.Server) { containersapi.RegisterContainersServer(s, srv) })
	client := containersapi.NewContainersClient(f.client)
	ctx := namespace.WithNamespace(context.Background(), "default")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if got, err := listStream(ctx, client); err != nil || len(got) != 500 {
			b.Fatalf("listed %d: %v", len(got), err)
		}
	}
}
