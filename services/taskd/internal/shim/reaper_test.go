package shim

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestReaperSeesAnExitBeforeItRuns starts a command and lets it exit
// before the reaper's goroutine runs, as happens on a loaded node: its exit
// must still reach the waiting caller.
func TestReaperSeesAnExitBeforeItRuns(t *testing.T) {
	r := newReaper(func(int, int) bool { return false })
	t.Cleanup(r.stop)
	cmd := exec.Command("true")
	ch, err := r.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	waitZombie(t, cmd.Process.Pid)
	go r.run()
	select {
	case e := <-ch:
		if e.Pid != cmd.Process.Pid || e.Status != 0 {
			t.Fatalf("exit %+v of pid %d", e, cmd.Process.Pid)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the exit of a command that ended before the reaper ran was never reaped")
	}
	cmd.Wait()
}

// waitZombie waits until pid exited and is not reaped yet.
func waitZombie(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			t.Fatal(err)
		}
		// The state follows the command name in parentheses.
		if f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:])); len(f) > 0 && f[0] == "Z" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d did not exit", pid)
		}
		time.Sleep(time.Millisecond)
	}
}
