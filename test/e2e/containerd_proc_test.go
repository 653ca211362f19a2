//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"berth.dev/test/e2e/harness"
)

// runContainerd starts a containerd baseline from bin on dir/config.toml,
// logging to dir/logName, with env. When the benchmark ends it is stopped
// (SIGTERM, SIGKILL after 10 s) and dir removed; cleanups the caller
// registers afterwards run first, while it still answers. done closes when
// the process exits.
func runContainerd(b *testing.B, bin, dir, logName string, env []string) (cmd *exec.Cmd, done <-chan struct{}) {
	b.Helper()
	logf, err := os.Create(filepath.Join(dir, logName))
	if err != nil {
		b.Fatal(err)
	}
	// The child keeps its own copy of the log's descriptor.
	defer logf.Close()
	cmd = exec.Command(bin, "--config", filepath.Join(dir, "config.toml"))
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	b.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if err := harness.Cleanup(dir); err != nil {
			b.Logf("remove %s: %v", dir, err)
		}
	})
	return cmd, exited
}
