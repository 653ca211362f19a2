package streaming

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/containerd/containerd/api/types/task"
	"github.com/containerd/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	criserver "k8s.io/cri-streaming/pkg/streaming"

	"berth.dev/pkg/namespace"
	"berth.dev/pkg/taskdclient"
)

// Namespace is the containerd namespace CRI containers live in.
const Namespace = "k8s.io"

// Config configures the streaming server.
type Config struct {
	// Address the HTTP streaming server listens on; port 0 picks one, and
	// the URLs handed out carry the real port.
	Address string `env:"BERTH_STREAM_ADDRESS" envDefault:"127.0.0.1:0" doc:"address of the CRI streaming server (exec, attach, port-forward); loopback by default"`
	// StateDir holds the fifos of running execs.
	StateDir string
	// IdleTimeout closes streams with no traffic; 0 means 4 hours.
	IdleTimeout time.Duration
}

// NetNS returns the path of a sandbox's network namespace.
type NetNS func(ctx context.Context, sandboxID string) (string, error)

// Server serves ExecSync and the streaming endpoints.
type Server struct {
	tasks    *taskdclient.Client
	netns    NetNS
	stateDir string
	listener net.Listener
	stream   criserver.Server
	// ContainerStdin says how a container's stdin was set up, for attach;
	// nil means every container has an ordinary (not StdinOnce) stdin.
	ContainerStdin func(containerID string) (Stdin, error)
}

// New listens on cfg.Address (so the URLs it hands out name the real
// port) and prepares the streaming server; Run serves it.
func New(cfg Config, tasks *taskdclient.Client, netns func(ctx context.Context, sandboxID string) (string, error)) (*Server, error) {
	if cfg.Address == "" {
		cfg.Address = "127.0.0.1:0"
	}
	if cfg.StateDir == "" {
		cfg.StateDir = os.TempDir()
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("streaming server: %w", err)
	}
	s := &Server{tasks: tasks, netns: netns, stateDir: cfg.StateDir, listener: l}
	sc := criserver.DefaultConfig
	sc.Addr = l.Addr().String()
	sc.BaseURL = &url.URL{Scheme: "http", Host: l.Addr().String()}
	if cfg.IdleTimeout > 0 {
		sc.StreamIdleTimeout = cfg.IdleTimeout
	}
	if s.stream, err = criserver.NewServer(sc, streamRuntime{s}); err != nil {
		l.Close()
		return nil, err
	}
	return s, nil
}

// URL is the server's base URL.
func (s *Server) URL() string { return "http://" + s.listener.Addr().String() }

// Run serves the streaming endpoints until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	srv := &http.Server{Handler: s.stream, ReadHeaderTimeout: 30 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(s.listener) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
		srv.Close() // streams are hijacked connections: Shutdown does not wait for them
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

// Exec hands out the URL for an exec stream into a running container.
func (s *Server) Exec(ctx context.Context, req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	if err := s.running(ctx, req.ContainerId); err != nil {
		return nil, err
	}
	return s.stream.GetExec(req)
}

// Attach hands out the URL for attaching to a running container.
func (s *Server) Attach(ctx context.Context, req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	if err := s.running(ctx, req.ContainerId); err != nil {
		return nil, err
	}
	return s.stream.GetAttach(req)
}

// PortForward hands out the URL for forwarding ports of a sandbox.
func (s *Server) PortForward(ctx context.Context, req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	if req.PodSandboxId == "" {
		return nil, fmt.Errorf("port forward needs a sandbox id: %w", errdefs.ErrInvalidArgument)
	}
	if _, err := s.netns(ctx, req.PodSandboxId); err != nil {
		return nil, fmt.Errorf("sandbox %q: %w", req.PodSandboxId, err)
	}
	return s.stream.GetPortForward(req)
}

// running fails unless the container's task runs.
func (s *Server) running(ctx context.Context, id string) error {
	if id == "" {
		return fmt.Errorf("container id is empty: %w", errdefs.ErrInvalidArgument)
	}
	p, err := s.tasks.Task(nsContext(ctx), id)
	if err != nil {
		return fmt.Errorf("container %q: %w", id, err)
	}
	if p.Status != task.Status_RUNNING {
		return fmt.Errorf("container %q is not running (%s): %w", id, p.Status, errdefs.ErrFailedPrecondition)
	}
	return nil
}

// TaskNetNS finds a sandbox's network namespace through its pause
// container's process, which lives in it for the sandbox's whole life.
func TaskNetNS(tasks *taskdclient.Client) NetNS {
	return func(ctx context.Context, sandboxID string) (string, error) {
		p, err := tasks.Task(nsContext(ctx), sandboxID)
		if err != nil {
			return "", err
		}
		if p.Status != task.Status_RUNNING || p.Pid == 0 {
			return "", fmt.Errorf("sandbox %q is not running (%s): %w", sandboxID, p.Status, errdefs.ErrFailedPrecondition)
		}
		return fmt.Sprintf("/proc/%d/ns/net", p.Pid), nil
	}
}

func nsContext(ctx context.Context) context.Context { return namespace.WithNamespace(ctx, Namespace) }
