package router

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	contentapi "github.com/containerd/containerd/api/services/content/v1"
	eventsapi "github.com/containerd/containerd/api/services/events/v1"
	versionapi "github.com/containerd/containerd/api/services/version/v1"
	"github.com/containerd/containerd/api/types"
	"github.com/containerd/errdefs"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"berth.dev/pkg/batch"
	"berth.dev/pkg/grpcclient"
	"berth.dev/pkg/grpcserver"
	"berth.dev/pkg/namespace"
)

// backendServer stands for a daemon: it answers Version with the namespace
// it saw, streams three events, and fails on demand.
type backendServer struct {
	versionapi.UnimplementedVersionServer
	eventsapi.UnimplementedEventsServer
}

func (backendServer) Version(ctx context.Context, _ *emptypb.Empty) (*versionapi.VersionResponse, error) {
	ns, _ := namespace.FromContext(ctx)
	if ns == "missing" {
		return nil, fmt.Errorf("thing in %q: %w", ns, errdefs.ErrNotFound)
	}
	grpc.SetHeader(ctx, metadata.Pairs("berth-test-header", ns))
	grpc.SetTrailer(ctx, metadata.Pairs("berth-test-trailer", ns))
	return &versionapi.VersionResponse{Version: "backend", Revision: ns}, nil
}

func (backendServer) Subscribe(req *eventsapi.SubscribeRequest, ss eventsapi.Events_SubscribeServer) error {
	ss.SetHeader(metadata.Pairs("berth-test-header", "subscribed"))
	ss.SetTrailer(metadata.Pairs("berth-test-trailer", "done"))
	if len(req.Filters) == 1 && req.Filters[0] == "fail" {
		if err := ss.Send(&types.Envelope{Topic: "/t/before"}); err != nil {
			return err
		}
		return fmt.Errorf("stream: %w", errdefs.ErrNotFound)
	}
	for i := 0; i < 3; i++ {
		if err := ss.Send(&types.Envelope{Topic: fmt.Sprintf("/t/%d", i), Namespace: strings.Join(req.Filters, ",")}); err != nil {
			return err
		}
	}
	return nil
}

type fixture struct {
	backendSock, gatewaySock string
	stopBackend              func()
	client                   *grpc.ClientConn
	router                   *Router
	backend                  *Backend
}

// startBackend serves the test services, and those extra registers, on
// sock.
func startBackend(t testing.TB, sock string, extra ...func(*grpc.Server)) func() {
	srv := grpcserver.New(zap.NewNop())
	versionapi.RegisterVersionServer(srv, backendServer{})
	eventsapi.RegisterEventsServer(srv, backendServer{})
	contentapi.RegisterContentServer(srv, contentServer{})
	for _, register := range extra {
		register(srv)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { grpcserver.Serve(ctx, srv, sock); close(done) }()
	waitSocket(t, sock)
	return func() { cancel(); <-done }
}

func waitSocket(t testing.TB, sock string) {
	cc, err := grpcclient.Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := versionapi.NewVersionClient(cc).Version(ctx, &emptypb.Empty{}, grpc.WaitForReady(true)); err != nil && status.Code(err) != codes.Unimplemented {
		t.Fatalf("backend not ready: %v", err)
	}
}

func newFixture(t testing.TB, extra ...func(*grpc.Server)) *fixture {
	dir := t.TempDir()
	f := &fixture{backendSock: filepath.Join(dir, "backend.sock"), gatewaySock: filepath.Join(dir, "gw.sock")}
	f.stopBackend = startBackend(t, f.backendSock, extra...)
	t.Cleanup(func() { f.stopBackend() })
	b, err := Dial("testd", f.backendSock, "containerd.services.version.v1.Version", "containerd.services.events.v1.",
		"containerd.services.content.v1.Content", "containerd.services.containers.v1.Containers")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	r := New(nil, b)
	f.router, f.backend = r, b
	gw := grpcserver.New(zap.NewNop(), r.ServerOptions()...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { grpcserver.Serve(ctx, gw, f.gatewaySock); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	f.client, err = grpcclient.Dial(f.gatewaySock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.client.Close() })
	waitSocket(t, f.gatewaySock)
	return f
}

func TestForwardsUnaryWithNamespace(t *testing.T) {
	f := newFixture(t)
	ctx := namespace.WithNamespace(context.Background(), "k8s.io")
	var header, trailer metadata.MD
	resp, err := versionapi.NewVersionClient(f.client).Version(ctx, &emptypb.Empty{}, grpc.Header(&header), grpc.Trailer(&trailer))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Version != "backend" || resp.Revision != "k8s.io" {
		t.Fatalf("response %+v did not come from the backend with the namespace", resp)
	}
	if fmt.Sprint(header.Get("berth-test-header"), trailer.Get("berth-test-trailer")) != "[k8s.io] [k8s.io]" {
		t.Fatalf("the backend's metadata did not come through: header %v, trailer %v", header, trailer)
	}
	_, err = versionapi.NewVersionClient(f.client).Version(namespace.WithNamespace(context.Background(), "missing"), &emptypb.Empty{})
	if !errdefs.IsNotFound(err) {
		t.Fatalf("backend's NotFound became %v", err)
	}
}

func TestShapeOf(t *testing.T) {
	for m, want := range map[string]shape{
		"/containerd.services.version.v1.Version/Version":   unary,
		"/containerd.services.content.v1.Content/Info":      unary,
		"/containerd.services.content.v1.Content/Read":      serverStream,
		"/containerd.services.events.v1.Events/Subscribe":   serverStream,
		"/containerd.services.content.v1.Content/Write":     bidi,
		"/containerd.services.content.v1.Content/Nothing":   bidi,
		"/containerd.services.nothing.v1.Nothing/Something": bidi,
		"/containerd.services.version.v1.Version":           bidi,
	} {
		if got := shapeOf(m); got != want {
			t.Errorf("shapeOf(%s) = %v, want %v", m, got, want)
		}
	}
}

func TestForwardsServerStream(t *testing.T) {
	f := newFixture(t)
	s, err := eventsapi.NewEventsClient(f.client).Subscribe(context.Background(), &eventsapi.SubscribeRequest{Filters: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	var topics []string
	for {
		env, err := s.Recv()
		if err != nil {
			if !strings.Contains(err.Error(), "EOF") {
				t.Fatal(err)
			}
			break
		}
		if env.Namespace != "a,b" {
			t.Fatalf("request not forwarded intact: %q", env.Namespace)
		}
		topics = append(topics, env.Topic)
	}
	sort.Strings(topics)
	if fmt.Sprint(topics) != "[/t/0 /t/1 /t/2]" {
		t.Fatalf("received %v", topics)
	}
	if h, err := s.Header(); err != nil || fmt.Sprint(h.Get("berth-test-header"), s.Trailer().Get("berth-test-trailer")) != "[subscribed] [done]" {
		t.Fatalf("the backend's metadata did not come through: header %v (%v), trailer %v", h, err, s.Trailer())
	}
}

func TestForwardsServerStreamError(t *testing.T) {
	f := newFixture(t)
	s, err := eventsapi.NewEventsClient(f.client).Subscribe(context.Background(), &eventsapi.SubscribeRequest{Filters: []string{"fail"}})
	if err != nil {
		t.Fatal(err)
	}
	env, err := s.Recv()
	if err != nil || env.Topic != "/t/before" {
		t.Fatalf("first message: %v, %v", env, err)
	}
	if _, err := s.Recv(); !errdefs.IsNotFound(err) {
		t.Fatalf("the backend's NotFound after a message became %v", err)
	}
}

func TestUnknownServiceIsUnimplemented(t *testing.T) {
	f := newFixture(t)
	err := f.client.Invoke(context.Background(), "/containerd.services.nothing.v1.Nothing/Do", &emptypb.Empty{}, &emptypb.Empty{})
	if !errdefs.IsNotImplemented(err) || !strings.Contains(err.Error(), "containerd.services.nothing.v1.Nothing/Do") {
		t.Fatalf("unknown service: %v", err)
	}
}

func TestOversizedMessageIsRefused(t *testing.T) {
	f := newFixture(t)
	big := &eventsapi.SubscribeRequest{Filters: []string{strings.Repeat("x", grpcserver.MaxMessageSize+1)}}
	// A client without Berth's own send limit, so the gateway is the one
	// that refuses.
	cc, err := grpc.NewClient("unix://"+f.gatewaySock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	s, err := eventsapi.NewEventsClient(cc).Subscribe(context.Background(), big)
	if err == nil {
		_, err = s.Recv()
	}
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("oversized request: %v", err)
	}
}

func TestBackendDownIsUnavailableNamingItThenRecovers(t *testing.T) {
	f := newFixture(t)
	client := versionapi.NewVersionClient(f.client)
	f.router.SetRestartGrace(200 * time.Millisecond)
	f.stopBackend()
	_, err := client.Version(context.Background(), &emptypb.Empty{})
	if !errdefs.IsUnavailable(err) || !strings.Contains(err.Error(), "testd is unavailable") {
		t.Fatalf("backend down: %v", err)
	}
	f.stopBackend = startBackend(t, f.backendSock)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := client.Version(context.Background(), &emptypb.Empty{})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("backend back, calls still fail: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCallWaitsForARestartingDaemon: a call that arrives while its daemon
// is being restarted is answered once the daemon is back, within the
// grace, instead of failing.
func TestCallWaitsForARestartingDaemon(t *testing.T) {
	f := newFixture(t)
	client := versionapi.NewVersionClient(f.client)
	f.stopBackend()
	// A call made before the gateway's connection has seen the daemon go
	// finds it ready and fails, as a call in flight at a crash does; the
	// grace is for calls made while the daemon is known to be down.
	for f.backend.Conn.GetState() == connectivity.Ready {
		time.Sleep(time.Millisecond)
	}
	srv := grpcserver.New(zap.NewNop())
	versionapi.RegisterVersionServer(srv, backendServer{})
	served := make(chan error, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		l, err := grpcserver.Listen(f.backendSock)
		if err != nil {
			served <- err
			return
		}
		served <- srv.Serve(l)
	}()
	f.stopBackend = srv.Stop
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := client.Version(ctx, &emptypb.Empty{}); err != nil {
		t.Fatalf("a call during the restart: %v", err)
	}
	select {
	case err := <-served:
		t.Fatalf("backend: %v", err)
	default:
	}
}

func TestMetadataForwardedIsFiltered(t *testing.T) {
	in := metadata.Pairs("containerd-namespace", "a", "containerd-lease", "l", "authorization", "secret", ":authority", "x", batch.Metadata, "1")
	ctx := outgoing(metadata.NewIncomingContext(context.Background(), in), "/containerd.services.content.v1.Content/List")
	out, _ := metadata.FromOutgoingContext(ctx)
	if len(out) != 2 || out.Get("containerd-lease")[0] != "l" {
		t.Fatalf("forwarded metadata %v", out)
	}
	// Batches are asked for by the gateway alone, of the methods it unpacks.
	ctx = outgoing(metadata.NewIncomingContext(context.Background(), in), "/containerd.services.containers.v1.Containers/ListStream")
	out, _ = metadata.FromOutgoingContext(ctx)
	if len(out) != 3 || out.Get(batch.Metadata)[0] != "1" {
		t.Fatalf("forwarded metadata of ListStream %v", out)
	}
}

func TestWrites(t *testing.T) {
	for m, want := range map[string]bool{
		"/containerd.services.content.v1.Content/Write":         true,
		"/containerd.services.images.v1.Images/Create":          true,
		"/containerd.services.content.v1.Content/List":          false,
		"/containerd.services.snapshots.v1.Snapshots/Stat":      false,
		"/containerd.services.tasks.v1.Tasks/Delete":            false,
		"/containerd.services.snapshots.v1.Snapshots/Prepare":   true,
		"/containerd.services.containers.v1.Containers/Create":  true,
		"/containerd.services.containers.v1.Containers/ListStr": false,
	} {
		if got := Writes(m); got != want {
			t.Errorf("Writes(%s) = %v", m, got)
		}
	}
}

// TestForwardsLargeStreamIntact sends differing messages of up to 3 MiB,
// several in flight, and checks the backend received every byte in order:
// forwarded frames hold gRPC's receive buffers instead of copies, so a
// buffer reused too early would show here.
func TestForwardsLargeStreamIntact(t *testing.T) {
	f := newFixture(t)
	ws, err := contentapi.NewContentClient(f.client).Write(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	var offset int64
	var want []string
	for i := 0; i < 24; i++ {
		data := make([]byte, 1+(i*397<<10)%(3<<20))
		rand.Read(data)
		if err := ws.Send(&contentapi.WriteContentRequest{Action: contentapi.WriteAction_WRITE, Ref: "verify", Data: data}); err != nil {
			t.Fatal(err)
		}
		h.Write(data)
		offset += int64(len(data))
		want = append(want, fmt.Sprintf("%d %x", offset, h.Sum(nil)))
	}
	if err := ws.CloseSend(); err != nil {
		t.Fatal(err)
	}
	for i, w := range want {
		resp, err := ws.Recv()
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		if got := fmt.Sprintf("%d %s", resp.Offset, resp.Digest); got != w {
			t.Fatalf("answer %d: backend has %s, sent %s", i, got, w)
		}
	}
	if _, err := ws.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("stream ended with %v", err)
	}
}
