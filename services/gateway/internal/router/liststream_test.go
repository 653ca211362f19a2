package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	containersapi "github.com/containerd/containerd/api/services/containers/v1"
	"github.com/containerd/errdefs"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"berth.dev/pkg/batch"
	"berth.dev/pkg/grpcclient"
	"berth.dev/pkg/namespace"
)

// containersServer stands for taskd's containers ListStream: it lists the
// containers whose id starts with the request's first filter (after
// "id~="), batched when asked unless old is set (a daemon that predates
// batches), and fails with NotFound in the namespace "missing".
type containersServer struct {
	containersapi.UnimplementedContainersServer
	containers []*containersapi.Container
	old        bool
}

func (s *containersServer) ListStream(req *containersapi.ListContainersRequest, ss containersapi.Containers_ListStreamServer) error {
	ns, _ := namespace.FromContext(ss.Context())
	if ns == "missing" {
		return fmt.Errorf("namespace %q: %w", ns, errdefs.ErrNotFound)
	}
	var prefix string
	if len(req.Filters) > 0 {
		prefix = strings.TrimPrefix(req.Filters[0], "id~=")
	}
	batched := !s.old && batch.Requested(ss.Context())
	var batches [][]byte
	for _, c := range s.containers {
		if !strings.HasPrefix(c.ID, prefix) {
			continue
		}
		if !batched {
			if err := ss.Send(&containersapi.ListContainerMessage{Container: c}); err != nil {
				return err
			}
			continue
		}
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
	return nil
}

// testContainers returns n containers whose specs have size bytes.
func testContainers(n, size int) []*containersapi.Container {
	out := make([]*containersapi.Container, n)
	for i := range out {
		out[i] = &containersapi.Container{
			ID:      fmt.Sprintf("c%04d", i),
			Labels:  map[string]string{"n": fmt.Sprint(i)},
			Image:   "berth.local/busybox:1",
			Runtime: &containersapi.Container_Runtime{Name: "io.containerd.runc.v2"},
			Spec:    &anypb.Any{TypeUrl: "types.containerd.io/opencontainers/runtime-spec/1/Spec", Value: []byte(strings.Repeat("s", size))},
		}
	}
	return out
}

// listFixture routes containers calls through a gateway to srv and
// returns a client of the gateway and one of srv directly.
func listFixture(t testing.TB, srv *containersServer) (gateway, direct containersapi.ContainersClient) {
	f := newFixture(t, func(s *grpc.Server) { containersapi.RegisterContainersServer(s, srv) })
	cc, err := grpcclient.Dial(f.backendSock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return containersapi.NewContainersClient(f.client), containersapi.NewContainersClient(cc)
}

// listStream returns what a ListStream call received, one container a
// message, as containerd's client reads it.
func listStream(ctx context.Context, c containersapi.ContainersClient, filters ...string) ([]*containersapi.Container, error) {
	ss, err := c.ListStream(ctx, &containersapi.ListContainersRequest{Filters: filters})
	if err != nil {
		return nil, err
	}
	var out []*containersapi.Container
	for {
		m, err := ss.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, m.Container)
	}
}

func TestListStreamUnpacksBatches(t *testing.T) {
	for _, tc := range []struct {
		name       string
		containers []*containersapi.Container
		old        bool
		filter     string
		want       int
	}{
		{name: "many small", containers: testContainers(500, 2000), want: 500},
		{name: "filtered", containers: testContainers(500, 2000), filter: "id~=c01", want: 100},
		{name: "none", containers: nil, want: 0},
		{name: "none match", containers: testContainers(10, 10), filter: "id~=x", want: 0},
		{name: "empty containers", containers: []*containersapi.Container{{}, {ID: "c1"}, {}}, want: 3},
		// Larger than a batch each, and together beyond the 16 MiB a
		// single message may hold.
		{name: "large", containers: testContainers(20, 1<<20), want: 20},
		{name: "mixed sizes", containers: append(testContainers(30, 40000), testContainers(30, 100)...), want: 60},
		{name: "daemon without batches", containers: testContainers(500, 2000), old: true, want: 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := &containersServer{containers: tc.containers, old: tc.old}
			gateway, direct := listFixture(t, srv)
			ctx := namespace.WithNamespace(context.Background(), "default")
			var fs []string
			if tc.filter != "" {
				fs = []string{tc.filter}
			}
			got, err := listStream(ctx, gateway, fs...)
			if err != nil {
				t.Fatal(err)
			}
			want, err := listStream(ctx, direct, fs...)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.want || len(want) != tc.want {
				t.Fatalf("got %d containers through the gateway, %d directly, want %d", len(got), len(want), tc.want)
			}
			for i := range want {
				if !proto.Equal(got[i], want[i]) {
					t.Fatalf("container %d: got %v through the gateway, want %v", i, got[i], want[i])
				}
			}
		})
	}
}

func TestListStreamErrorPassesThrough(t *testing.T) {
	gateway, _ := listFixture(t, &containersServer{containers: testContainers(3, 10)})
	_, err := listStream(namespace.WithNamespace(context.Background(), "missing"), gateway)
	if !errdefs.IsNotFound(err) {
		t.Fatalf("backend's NotFound became %v", err)
	}
}

// BenchmarkListStream lists 500 containers of 2.4 kB, as a node running
// 500 containers holds, directly and through the gateway.
func BenchmarkListStream(b *testing.B) {
	srv := &containersServer{containers: testContainers(500, 2200)}
	gateway, direct := listFixture(b, srv)
	ctx := namespace.WithNamespace(context.Background(), "default")
	for _, c := range []struct {
		name   string
		client containersapi.ContainersClient
	}{{"direct", direct}, {"gateway", gateway}} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if got, err := listStream(ctx, c.client); err != nil || len(got) != 500 {
					b.Fatalf("listed %d: %v", len(got), err)
				}
			}
		})
	}
}
