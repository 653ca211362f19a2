package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	api "github.com/containerd/containerd/api/services/containers/v1"
	"github.com/containerd/errdefs"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"berth.dev/pkg/batch"
	"berth.dev/pkg/grpcclient"
	"berth.dev/pkg/grpcserver"
	"berth.dev/pkg/listcache"
	"berth.dev/pkg/namespace"
	"berth.dev/pkg/store/storetest"
	"berth.dev/services/taskd/internal/container"
)

// containersClient serves a store with n containers of 2 kB specs and
// returns a client of it, and the store.
func containersClient(t *testing.T, n int) (api.ContainersClient, *container.Store) {
	cs := container.New(storetest.OpenWithOutbox(t, "taskd"))
	ctx := namespace.WithNamespace(context.Background(), "ns")
	for i := 0; i < n; i++ {
		c := &api.Container{ID: fmt.Sprintf("c%03d", i), Runtime: &api.Container_Runtime{Name: "io.containerd.runc.v2"},
			Labels: map[string]string{"even": fmt.Sprint(i%2 == 0)},
			Spec:   &anypb.Any{TypeUrl: "spec", Value: []byte(strings.Repeat("s", 2000))}}
		if _, err := cs.Create(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	srv := grpcserver.New(zap.NewNop())
	(&Containers{Store: cs}).Register(srv)
	sock := filepath.Join(t.TempDir(), "taskd.sock")
	// Listening before the first call, which would otherwise race the
	// server's start and fail without waiting.
	l, err := grpcserver.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l) //nolint:errcheck // ends with Stop
	t.Cleanup(srv.Stop)
	cc, err := grpcclient.Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return api.NewContainersClient(cc), cs
}

// A batch reads as a ListContainersResponse: its messages are field 1,
// repeated.
func receiveBatches(ss grpc.ClientStream) ([]*api.Container, int, error) {
	var out []*api.Container
	frames := 0
	for {
		var m api.ListContainersResponse
		if err := ss.RecvMsg(&m); errors.Is(err, io.EOF) {
			return out, frames, nil
		} else if err != nil {
			return out, frames, err
		}
		frames++
		out = append(out, m.Containers...)
	}
}

// List, ListStream and ListStream in batches answer what the store holds,
// in its order.
func TestListsAreStoreList(t *testing.T) {
	client, cs := containersClient(t, 300)
	ctx := namespace.WithNamespace(context.Background(), "ns")
	for _, fs := range [][]string{nil, {"labels.even==true"}, {"id==none"}} {
		stored, err := cs.List(ctx, fs...)
		if err != nil {
			t.Fatal(err)
		}
		want, err := client.List(ctx, &api.ListContainersRequest{Filters: fs})
		if err != nil {
			t.Fatal(err)
		}
		if len(want.Containers) != len(stored) {
			t.Fatalf("filters %q: List gives %d containers, the store %d", fs, len(want.Containers), len(stored))
		}
		for i := range stored {
			if !proto.Equal(stored[i], want.Containers[i]) {
				t.Fatalf("filters %q: container %d is %v, the store's %v", fs, i, want.Containers[i].ID, stored[i].ID)
			}
		}
		asked := metadata.AppendToOutgoingContext(ctx, batch.Metadata, "1")
		ss, err := client.ListStream(asked, &api.ListContainersRequest{Filters: fs})
		if err != nil {
			t.Fatal(err)
		}
		got, frames, err := receiveBatches(ss)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want.Containers) {
			t.Fatalf("filters %q: %d containers in batches, List gives %d", fs, len(got), len(want.Containers))
		}
		for i := range got {
			if !proto.Equal(got[i], want.Containers[i]) {
				t.Fatalf("filters %q: container %d is %v, List gives %v", fs, i, got[i].ID, want.Containers[i].ID)
			}
		}
		if len(got) > 20 && frames*10 > len(got) {
			t.Fatalf("filters %q: %d containers in %d frames", fs, len(got), frames)
		}
	}

	// Unasked, a container a message.
	ss, err := client.ListStream(ctx, &api.ListContainersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got, frames, err := receiveBatches(ss)
	if err != nil || frames != 300 {
		t.Fatalf("unbatched: %d frames, %v", frames, err)
	}
	stored, err := cs.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range stored {
		if !proto.Equal(stored[i], got[i]) {
			t.Fatalf("unbatched: container %d is %v, the store's %v", i, got[i].ID, stored[i].ID)
		}
	}
	// Another namespace lists its own.
	other, err := client.List(namespace.WithNamespace(context.Background(), "other"), &api.ListContainersRequest{})
	if err != nil || len(other.Containers) != 0 {
		t.Fatalf("other namespace: %d containers, %v", len(other.GetContainers()), err)
	}
}

// A List over gRPC after a write sees it.
func TestListAfterWrites(t *testing.T) {
	client, _ := containersClient(t, 3)
	ctx := namespace.WithNamespace(context.Background(), "ns")
	list := func() string {
		t.Helper()
		resp, err := client.List(ctx, &api.ListContainersRequest{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range resp.Containers {
			out = append(out, c.ID+"="+c.Labels["even"])
		}
		return strings.Join(out, ",")
	}
	if got := list(); got != "c000=true,c001=false,c002=true" {
		t.Fatalf("listed %s", got)
	}
	if _, err := client.Update(ctx, &api.UpdateContainerRequest{Container: &api.Container{ID: "c001", Labels: map[string]string{"even": "no"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"labels.even"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Delete(ctx, &api.DeleteContainerRequest{ID: "c000"}); err != nil {
		t.Fatal(err)
	}
	if got := list(); got != "c001=no,c002=true" {
		t.Fatalf("after update and delete, listed %s", got)
	}
	if _, err := client.List(ctx, &api.ListContainersRequest{Filters: []string{"id=="}}); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("bad filter: %v, want InvalidArgument", err)
	}
}

func TestListStreamBatchedErrors(t *testing.T) {
	client, _ := containersClient(t, 3)
	asked := metadata.AppendToOutgoingContext(namespace.WithNamespace(context.Background(), "ns"), batch.Metadata, "1")
	ss, err := client.ListStream(asked, &api.ListContainersRequest{Filters: []string{"id=="}})
	if err == nil {
		_, _, err = receiveBatches(ss)
	}
	if !errdefs.IsInvalidArgument(err) {
		t.Fatalf("bad filter: %v, want InvalidArgument", err)
	}
	ss, err = client.ListStream(metadata.AppendToOutgoingContext(context.Background(), batch.Metadata, "1"), &api.ListContainersRequest{})
	if err == nil {
		_, _, err = receiveBatches(ss)
	}
	if !errdefs.IsFailedPrecondition(err) {
		t.Fatalf("no namespace: %v, want FailedPrecondition", err)
	}
}

// Asked by a gateway that keeps listings (pkg/listcache), List and
// ListStream tag their answer, answer a caller holding the current
// listing with "unchanged" and nothing else, and a write makes a new tag.
func TestListTags(t *testing.T) {
	client, _ := containersClient(t, 30)
	ctx := namespace.WithNamespace(context.Background(), "ns")
	list := func(held string, stream bool) (tag string, unchanged bool, n int) {
		t.Helper()
		ctx := metadata.AppendToOutgoingContext(ctx, listcache.Held, held)
		var header metadata.MD
		if stream {
			ss, err := client.ListStream(metadata.AppendToOutgoingContext(ctx, batch.Metadata, "1"), &api.ListContainersRequest{})
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := receiveBatches(ss)
			if err != nil {
				t.Fatal(err)
			}
			n = len(got)
			if header, err = ss.Header(); err != nil {
				t.Fatal(err)
			}
		} else {
			resp, err := client.List(ctx, &api.ListContainersRequest{}, grpc.Header(&header))
			if err != nil {
				t.Fatal(err)
			}
			n = len(resp.Containers)
		}
		if v := header.Get(listcache.Tag); len(v) > 0 {
			tag = v[0]
		}
		return tag, len(header.Get(listcache.Unchanged)) > 0, n
	}
	for _, stream := range []bool{false, true} {
		tag, unchanged, n := list(listcache.None, stream)
		if tag == "" || unchanged || n != 30 {
			t.Fatalf("stream %v, holding none: tag %q, unchanged %v, %d containers", stream, tag, unchanged, n)
		}
		if again, unchanged, n := list(tag, stream); again != "" || !unchanged || n != 0 {
			t.Fatalf("stream %v, holding the listing: tag %q, unchanged %v, %d containers", stream, again, unchanged, n)
		}
		if _, err := client.Delete(ctx, &api.DeleteContainerRequest{ID: fmt.Sprintf("c%03d", 29)}); err != nil {
			t.Fatal(err)
		}
		next, unchanged, n := list(tag, stream)
		if next == "" || next == tag || unchanged || n != 29 {
			t.Fatalf("stream %v, after a delete: tag %q (was %q), unchanged %v, %d containers", stream, next, tag, unchanged, n)
		}
		if _, err := client.Create(ctx, &api.CreateContainerRequest{Container: &api.Container{ID: "c029",
			Runtime: &api.Container_Runtime{Name: "io.containerd.runc.v2"}, Spec: &anypb.Any{TypeUrl: "spec"}}}); err != nil {
			t.Fatal(err)
		}
	}
	// Not asked (a client of taskd's socket, a filtered list): no tag.
	var header metadata.MD
	if _, err := client.List(ctx, &api.ListContainersRequest{}, grpc.Header(&header)); err != nil || len(header.Get(listcache.Tag)) > 0 {
		t.Fatalf("unasked: header %v, %v", header, err)
	}
	filtered := metadata.AppendToOutgoingContext(ctx, listcache.Held, listcache.None)
	if _, err := client.List(filtered, &api.ListContainersRequest{Filters: []string{"id==c001"}}, grpc.Header(&header)); err != nil || len(header.Get(listcache.Tag)) > 0 {
		t.Fatalf("filtered: header %v, %v", header, err)
	}
}
