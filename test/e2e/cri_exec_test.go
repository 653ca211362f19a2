//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	utilexec "k8s.io/client-go/util/exec"
	criapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"berth.dev/test/e2e/harness"
)

// busyboxContainer pulls the busybox test image through the CRI and runs
// cmd in a new container of the pod.
func busyboxContainer(t *testing.T, rs criapi.RuntimeService, is criapi.ImageManagerService, pod string, podCfg *runtimeapi.PodSandboxConfig, name string, cmd ...string) string {
	t.Helper()
	return startPulled(t, rs, is, pod, podCfg, &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: name}, Command: cmd})
}

// startPulled pulls the busybox test image and starts cfg with it.
func startPulled(t *testing.T, rs criapi.RuntimeService, is criapi.ImageManagerService, pod string, podCfg *runtimeapi.PodSandboxConfig, cfg *runtimeapi.ContainerConfig) string {
	t.Helper()
	ctx := context.Background()
	if _, err := is.PullImage(ctx, &runtimeapi.ImageSpec{Image: "busybox:1"}, nil, podCfg); err != nil {
		t.Fatalf("PullImage: %v", err)
	}
	cfg.Image = &runtimeapi.ImageSpec{Image: "busybox:1"}
	cfg.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{}}
	id, err := rs.CreateContainer(ctx, pod, cfg, podCfg)
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	t.Cleanup(func() {
		rs.StopContainer(ctx, id, 0)
		rs.RemoveContainer(ctx, id)
	})
	if err := rs.StartContainer(ctx, id); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	return id
}

// execStack starts the CRI with docker.io sent to a loopback registry
// holding the busybox test image.
func execStack(t *testing.T) (criapi.RuntimeService, criapi.ImageManagerService) {
	t.Helper()
	reg := harness.Registry(t)
	harness.Push(t, reg+"/library/busybox:1", harness.BusyboxImage(t))
	st, rs := criStack(t, newCRINet(t), harness.WithEnv("BERTH_REGISTRY_CONFIG_PATH="+hostsDir(t, map[string]string{"docker.io": reg})))
	return rs, imageClient(t, st)
}

// TestCRIExecSync runs commands to completion, sees their output and exit
// codes, and sees a timed-out command killed.
func TestCRIExecSync(t *testing.T) {
	rs, is := execStack(t)
	podCfg := podConfig(t, "exec")
	pod := runPod(t, rs, podCfg)
	id := busyboxContainer(t, rs, is, pod, podCfg, "sleeper", "sleep", "3600")

	stdout, stderr, err := rs.ExecSync(context.Background(), id, []string{"sh", "-c", "echo out; echo err >&2; exit 3"}, 10*time.Second)
	var exitErr utilexec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitStatus() != 3 {
		t.Fatalf("exit: %v", err)
	}
	if string(stdout) != "out\n" || string(stderr) != "err\n" {
		t.Fatalf("stdout %q stderr %q", stdout, stderr)
	}

	// The client reports DeadlineExceeded as a timeout.
	_, _, err = rs.ExecSync(context.Background(), id, []string{"sleep", "4242"}, time.Second)
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("timed-out exec: %v", err)
	}
	eventually(t, "the timed-out exec to be killed", func() bool {
		out, _, err := rs.ExecSync(context.Background(), id, []string{"ps"}, 10*time.Second)
		return err == nil && !bytes.Contains(out, []byte("sleep 4242"))
	})

	_, _, err = rs.ExecSync(context.Background(), "absent-container", []string{"true"}, 0)
	if status.Code(err) != codes.NotFound {
		t.Fatalf("exec in an absent container: %v", err)
	}
}

// TestCRIExecStream execs over the streaming server as kubectl exec does:
// stdin, separate stdout and stderr and the exit code; then a terminal.
func TestCRIExecStream(t *testing.T) {
	rs, is := execStack(t)
	podCfg := podConfig(t, "stream")
	pod := runPod(t, rs, podCfg)
	id := busyboxContainer(t, rs, is, pod, podCfg, "sleeper", "sleep", "3600")
	ctx := context.Background()

	resp, err := rs.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: id, Cmd: []string{"sh", "-c", "cat; echo done >&2; exit 5"},
		Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	var stdout, stderr bytes.Buffer
	err = stream(t, resp.Url, remotecommand.StreamOptions{Stdin: strings.NewReader("hello"), Stdout: &stdout, Stderr: &stderr})
	var exitErr utilexec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitStatus() != 5 {
		t.Fatalf("stream exit: %v", err)
	}
	if stdout.String() != "hello" || stderr.String() != "done\n" {
		t.Fatalf("stdout %q stderr %q", stdout.String(), stderr.String())
	}

	resp, err = rs.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: id, Cmd: []string{"sh", "-c", "tty; echo $TERM"}, Stdout: true, Tty: true})
	if err != nil {
		t.Fatalf("Exec with a terminal: %v", err)
	}
	stdout.Reset()
	if err := stream(t, resp.Url, remotecommand.StreamOptions{Stdout: &stdout, Tty: true}); err != nil {
		t.Fatalf("terminal stream: %v", err)
	}
	if !strings.Contains(stdout.String(), "/dev/pts/") || !strings.Contains(stdout.String(), "xterm") {
		t.Fatalf("terminal exec printed %q", stdout.String())
	}
}

// TestCRIAttach joins a running container's stdio: what is typed reaches
// its stdin and its answer comes back.
func TestCRIAttach(t *testing.T) {
	rs, is := execStack(t)
	podCfg := podConfig(t, "attach")
	pod := runPod(t, rs, podCfg)
	id := startPulled(t, rs, is, pod, podCfg, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "reader"},
		Command:  []string{"sh", "-c", "while read line; do echo got:$line; echo err:$line >&2; done"},
		Stdin:    true,
	})
	resp, err := rs.Attach(context.Background(), &runtimeapi.AttachRequest{ContainerId: id, Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	in, typed := io.Pipe()
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- stream(t, resp.Url, remotecommand.StreamOptions{Stdin: in, Stdout: stdout, Stderr: stderr})
	}()
	// Lines typed before the attach is joined are not answered to it, so
	// keep typing until one is.
	eventually(t, "an answer through the attach", func() bool {
		typed.Write([]byte("hi\n"))
		return strings.Contains(stdout.String(), "got:hi") && strings.Contains(stderr.String(), "err:hi")
	})
	typed.Close()
	if err := rs.StopContainer(context.Background(), id, 0); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("attach ended with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("attach did not end when the container stopped")
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func stream(t *testing.T, rawURL string, opts remotecommand.StreamOptions) error {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	exec, err := remotecommand.NewSPDYExecutor(&rest.Config{}, http.MethodPost, u)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return exec.StreamWithContext(ctx, opts)
}

// TestCRIPortForward reaches a port of the pod through its network
// namespace, as kubectl port-forward does.
func TestCRIPortForward(t *testing.T) {
	rs, is := execStack(t)
	podCfg := podConfig(t, "forward")
	pod := runPod(t, rs, podCfg)
	id := busyboxContainer(t, rs, is, pod, podCfg, "pong", "sh", "-c", "while true; do echo pong | nc -l -p 8080; done")
	// The client gives up on its first refused connection: forward once
	// the pod listens.
	eventually(t, "the pod to listen on 8080", func() bool {
		out, _, err := rs.ExecSync(context.Background(), id, []string{"sh", "-c", "netstat -ltn"}, 10*time.Second)
		return err == nil && bytes.Contains(out, []byte(":8080 "))
	})

	resp, err := rs.PortForward(context.Background(), &runtimeapi.PortForwardRequest{PodSandboxId: pod, Port: []int32{8080}})
	if err != nil {
		t.Fatalf("PortForward: %v", err)
	}
	u, err := url.Parse(resp.Url)
	if err != nil {
		t.Fatal(err)
	}
	rt, upgrader, err := spdy.RoundTripperFor(&rest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: rt}, http.MethodPost, u)
	stop, ready := make(chan struct{}), make(chan struct{})
	fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{"0:8080"}, stop, ready, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- fw.ForwardPorts() }()
	t.Cleanup(func() { close(stop); <-done })
	<-ready
	ports, err := fw.GetPorts()
	if err != nil || len(ports) != 1 {
		t.Fatalf("ports %v: %v", ports, err)
	}
	local := net.JoinHostPort("127.0.0.1", strconv.Itoa(int(ports[0].Local)))
	var got string
	eventually(t, "pong through the forwarded port", func() bool {
		c, err := net.DialTimeout("tcp", local, 5*time.Second)
		if err != nil {
			return false
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, _ := io.ReadAll(c)
		got = string(b)
		return got == "pong\n"
	})
}
