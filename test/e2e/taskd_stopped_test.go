//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A stopped task that is not yet deleted refuses exec and kills of unknown
// execs with clear errors, and still answers its exit status.
func TestStoppedTaskRefusesExec(t *testing.T) {
	st := runningStack(t)
	st.MustCtr(t, "run", "-d", image, "stopped1", "sh", "-c", "exit 3")
	waitFor(t, 10*time.Second, func() error {
		if out := st.MustCtr(t, "task", "ls"); !lineHas(out, "stopped1", "STOPPED") {
			return fmt.Errorf("not stopped yet: %s", out)
		}
		return nil
	})
	_, err := st.Ctr(t, "task", "exec", "--exec-id", "e1", "stopped1", "true")
	if err == nil || !strings.Contains(err.Error(), "failed precondition") {
		t.Fatalf("exec into a stopped task: %v", err)
	}
	_, err = st.Ctr(t, "task", "kill", "--exec-id", "nope", "stopped1")
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("kill of an unknown exec: %v", err)
	}
	out, err := st.Ctr(t, "task", "rm", "stopped1")
	if err != nil || !strings.Contains(out, "exit code 3") {
		t.Fatalf("task rm: %v\n%s", err, out)
	}
	st.MustCtr(t, "containers", "rm", "stopped1")
}
