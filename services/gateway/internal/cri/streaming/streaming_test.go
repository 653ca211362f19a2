package streaming

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	tasksv1 "berth.dev/proto/berth/tasks/v1"
)

func TestCappedBuffer(t *testing.T) {
	b := &cappedBuffer{max: 5}
	for _, s := range []string{"abc", "defg", "hij"} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if string(b.Bytes()) != "abcde" {
		t.Fatalf("kept %q, want the first 5 bytes", b.Bytes())
	}
	// io.Copy must go through the cap too.
	b = &cappedBuffer{max: 3}
	io.Copy(b, strings.NewReader("abcdef"))
	if string(b.Bytes()) != "abc" {
		t.Fatalf("io.Copy kept %q", b.Bytes())
	}
}

func TestTimeoutIsDeadlineExceeded(t *testing.T) {
	err := errTimeout(3e9)
	st, _ := status.FromError(errgrpc.ToGRPC(err))
	if st.Code() != codes.DeadlineExceeded || !strings.Contains(st.Message(), "timeout") {
		t.Fatalf("got %v %q, want DeadlineExceeded mentioning the timeout", st.Code(), st.Message())
	}
}

func TestHasEnv(t *testing.T) {
	env := []string{"PATH=/bin", "TERMINAL=x"}
	if hasEnv(env, "TERM") {
		t.Error("TERMINAL taken for TERM")
	}
	if !hasEnv(append(env, "TERM=vt100"), "TERM") {
		t.Error("TERM not found")
	}
}

// The fifos carry output the way a shim writes it: the other end opens
// after ours, writes and closes.
func TestProcessIOCopies(t *testing.T) {
	dir := t.TempDir()
	pio, err := openFifos(context.Background(), dir, true, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pio.close)
	var stdout, stderr bytes.Buffer
	ended := make(chan struct{})
	done := pio.copy(strings.NewReader("input"), &stdout, &stderr, func() { close(ended) })
	in, err := os.OpenFile(filepath.Join(dir, "stdin"), os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(in)
	in.Close()
	if err != nil || string(got) != "input" {
		t.Fatalf("stdin carried %q, %v", got, err)
	}
	// The end of the input is reported, for CloseIO.
	<-ended
	for name, text := range map[string]string{"stdout": "out", "stderr": "err"} {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(text)
		f.Close()
	}
	<-done
	if stdout.String() != "out" || stderr.String() != "err" {
		t.Fatalf("stdout %q stderr %q", stdout.String(), stderr.String())
	}
}

type fakeStream struct{ msgs []*tasksv1.AttachResponse }

func (f *fakeStream) Recv() (*tasksv1.AttachResponse, error) {
	if len(f.msgs) == 0 {
		return nil, io.EOF
	}
	m := f.msgs[0]
	f.msgs = f.msgs[1:]
	return m, nil
}

func TestReceiveSplitsStreams(t *testing.T) {
	s := &fakeStream{msgs: []*tasksv1.AttachResponse{
		{Stream: tasksv1.AttachResponse_STDOUT, Data: []byte("a")},
		{Stream: tasksv1.AttachResponse_STDERR, Data: []byte("b")},
		{Stream: tasksv1.AttachResponse_STDOUT, Data: []byte("c")},
	}}
	var out, errOut bytes.Buffer
	if err := receive(s, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if out.String() != "ac" || errOut.String() != "b" {
		t.Fatalf("stdout %q stderr %q", out.String(), errOut.String())
	}
}

func TestURLsCarryTheRealPort(t *testing.T) {
	s, err := New(Config{StateDir: t.TempDir()}, nil, func(context.Context, string) (string, error) { return "/proc/self/ns/net", nil })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	resp, err := s.PortForward(ctx, &runtimeapi.PortForwardRequest{PodSandboxId: "sb", Port: []int32{80}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.Url, s.URL()+"/portforward/") || strings.HasSuffix(s.URL(), ":0") {
		t.Fatalf("url %q, server at %s", resp.Url, s.URL())
	}
	if _, err := s.PortForward(ctx, &runtimeapi.PortForwardRequest{}); err == nil {
		t.Fatal("port forward without a sandbox accepted")
	}
}

type pipeRWC struct {
	io.Reader
	io.Writer
}

func (pipeRWC) Close() error { return nil }

// Port forwarding into the test's own network namespace reaches a server
// on its loopback and carries bytes both ways.
func TestPortForwardCopies(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("entering a network namespace needs root")
	}
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		data, _ := io.ReadAll(c)
		c.Write(append([]byte("echo:"), data...))
	}()
	s := &Server{netns: func(context.Context, string) (string, error) { return "/proc/self/ns/net", nil }}
	var out bytes.Buffer
	port := int32(l.Addr().(*net.TCPAddr).Port)
	if err := s.portForward(context.Background(), "sb", port, pipeRWC{strings.NewReader("ping"), &out}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "echo:ping" {
		t.Fatalf("got %q", out.String())
	}
	err = s.portForward(context.Background(), "sb", 0, pipeRWC{strings.NewReader(""), io.Discard})
	if err == nil {
		t.Fatal("port 0 accepted")
	}
	s.netns = func(context.Context, string) (string, error) { return "/nonexistent", nil }
	err = s.portForward(context.Background(), "sb", port, pipeRWC{strings.NewReader(""), io.Discard})
	if !errdefs.IsNotFound(err) {
		t.Fatal("missing netns accepted")
	}
}
