package harness

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// Stack is one running Berth.
type Stack struct {
	Root   string
	State  string
	Socket string
	Bin    string
	// Env is added to every daemon's environment.
	Env []string

	mu    sync.Mutex
	procs map[string]*exec.Cmd
}

// Option changes how a stack starts.
type Option func(*Stack)

// WithEnv adds environment variables (KEY=value) to every daemon.
func WithEnv(kv ...string) Option { return func(s *Stack) { s.Env = append(s.Env, kv...) } }

// Start runs every daemon that was built and waits until each serves.
func Start(t testing.TB, opts ...Option) *Stack {
	t.Helper()
	RequireRoot(t)
	bin := Binaries(t)
	// Short paths: a unix socket path must fit in 108 bytes.
	base, err := os.MkdirTemp("/tmp", "berth-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	s := &Stack{
		Root:  filepath.Join(base, "root"),
		State: filepath.Join(base, "state"),
		Bin:   bin,
		procs: map[string]*exec.Cmd{},
	}
	s.Socket = filepath.Join(s.State, "berth.sock")
	for _, o := range opts {
		o(s)
	}
	t.Cleanup(func() { s.teardown(t, base) })
	for _, name := range Daemons {
		if Has(t, name) {
			s.StartDaemon(t, name)
		}
	}
	return s
}

func (s *Stack) logPath(name string) string { return filepath.Join(s.Root, "logs", name+".log") }

// StartDaemon starts one daemon and waits for its health service.
func (s *Stack) StartDaemon(t testing.TB, name string) {
	t.Helper()
	// The logs are root's alone, as scripts/up keeps them; creating them
	// also creates the root, with the daemons' mode for it.
	if err := os.MkdirAll(filepath.Dir(s.logPath(name)), 0o700); err != nil {
		t.Fatal(err)
	}
	logf, err := os.OpenFile(s.logPath(name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(s.Bin, name))
	cmd.Env = append(Environ(), "BERTH_ROOT="+s.Root, "BERTH_STATE="+s.State, "BERTH_LOG_LEVEL=debug",
		"BERTH_SHIM_BINARY="+filepath.Join(s.Bin, "berth-shim"))
	if rt := os.Getenv(RuntimeEnv); rt != "" {
		cmd.Env = append(cmd.Env, "BERTH_RUNTIME_BINARY="+rt)
	}
	cmd.Env = append(cmd.Env, s.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	s.mu.Lock()
	s.procs[name] = cmd
	s.mu.Unlock()
	go cmd.Wait() //nolint:errcheck // reaped here; state is read through ProcessState
	if err := s.waitHealthy(name, 20*time.Second); err != nil {
		t.Fatalf("%s did not become healthy: %v\n%s", name, err, s.Logs(name))
	}
}

// SocketOf returns a daemon's socket.
func (s *Stack) SocketOf(name string) string {
	if name == "gateway" {
		return s.Socket
	}
	return filepath.Join(s.State, name+".sock")
}

func (s *Stack) waitHealthy(name string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cc, err := grpc.NewClient("unix://"+s.SocketOf(name), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer cc.Close()
	h := healthpb.NewHealthClient(cc)
	for {
		resp, err := h.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
		if err == nil && resp.Status == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%v (last: %v)", ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
		if s.exited(name) {
			return fmt.Errorf("process exited")
		}
	}
}

func (s *Stack) exited(name string) bool {
	s.mu.Lock()
	cmd := s.procs[name]
	s.mu.Unlock()
	return cmd == nil || cmd.Process.Signal(syscall.Signal(0)) != nil
}

// Kill sends SIGKILL to a daemon and waits until it is gone.
func (s *Stack) Kill(t testing.TB, name string) { s.signal(t, name, syscall.SIGKILL) }

// Stop sends SIGTERM to a daemon and waits until it is gone.
func (s *Stack) Stop(t testing.TB, name string) { s.signal(t, name, syscall.SIGTERM) }

func (s *Stack) signal(t testing.TB, name string, sig syscall.Signal) {
	t.Helper()
	s.mu.Lock()
	cmd := s.procs[name]
	delete(s.procs, name)
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(sig)
	deadline := time.Now().Add(15 * time.Second)
	for cmd.Process.Signal(syscall.Signal(0)) == nil {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Restart stops (with SIGKILL when kill is set) and starts a daemon again.
func (s *Stack) Restart(t testing.TB, name string, kill bool) {
	t.Helper()
	if kill {
		s.Kill(t, name)
	} else {
		s.Stop(t, name)
	}
	s.StartDaemon(t, name)
}

// Pid returns a daemon's process id, or 0.
func (s *Stack) Pid(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cmd := s.procs[name]; cmd != nil {
		return cmd.Process.Pid
	}
	return 0
}

// Logs returns a daemon's log.
func (s *Stack) Logs(name string) string {
	b, _ := os.ReadFile(s.logPath(name))
	return string(b)
}

// Ctr runs the real ctr client against the node socket.
func (s *Stack) Ctr(t testing.TB, args ...string) (string, error) {
	t.Helper()
	return s.CtrContext(context.Background(), args...)
}

// CtrContext is Ctr with a context (for long-running commands like events).
func (s *Stack) CtrContext(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ctr", append([]string{"--address", s.Socket}, args...)...)
	cmd.Env = Environ()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("ctr %s: %v: %s", strings.Join(args, " "), err, out.String())
	}
	return out.String(), err
}

// Berth runs Berth's own CLI against the node socket.
func (s *Stack) Berth(t testing.TB, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(s.Bin, "berth"), append([]string{"--address", s.Socket}, args...)...)
	cmd.Env = Environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		err = fmt.Errorf("berth %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out), err
}

// MustCtr is Ctr failing the test on error.
func (s *Stack) MustCtr(t testing.TB, args ...string) string {
	t.Helper()
	out, err := s.Ctr(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
