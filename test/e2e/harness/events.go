package harness

import (
	"bufio"
	"context"
	"os/exec"
	"testing"
)

// Events runs `ctr events` against the stack until the test ends and returns
// its output lines.
func (s *Stack) Events(t testing.TB) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "ctr", "--address", s.Socket, "events")
	cmd.Env = Environ()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return lines
}
