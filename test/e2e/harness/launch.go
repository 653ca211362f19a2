package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Launch starts one daemon and waits for its health service, like
// StartDaemon, but returns an error instead of failing the test: a fault
// injector records a daemon that does not come back and goes on.
func (s *Stack) Launch(name string) error {
	if err := os.MkdirAll(filepath.Dir(s.logPath(name)), 0o755); err != nil {
		return err
	}
	logf, err := os.OpenFile(s.logPath(name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(s.Bin, name))
	cmd.Env = append(Environ(), "BERTH_ROOT="+s.Root, "BERTH_STATE="+s.State, "BERTH_LOG_LEVEL=debug",
		"BERTH_SHIM_BINARY="+filepath.Join(s.Bin, "berth-shim"))
	cmd.Env = append(cmd.Env, s.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	s.mu.Lock()
	s.procs[name] = cmd
	s.mu.Unlock()
	go cmd.Wait() //nolint:errcheck // reaped here; state is read through ProcessState
	if err := s.waitHealthy(name, 30*time.Second); err != nil {
		return fmt.Errorf("%s did not become healthy: %w", name, err)
	}
	return nil
}

// KillNow sends SIGKILL to a daemon and waits until it is gone, without a
// test: for fault injectors running beside the load.
func (s *Stack) KillNow(name string) {
	s.mu.Lock()
	cmd := s.procs[name]
	delete(s.procs, name)
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	for cmd.Process.Signal(syscall.Signal(0)) == nil {
		time.Sleep(5 * time.Millisecond)
	}
}

// LogPath is where a daemon's log goes.
func (s *Stack) LogPath(name string) string { return s.logPath(name) }
