//go:build e2e

package e2e

import (
	"testing"
)

func TestOOMIsReported(t *testing.T) {
	st := runningStack(t)
	lines := st.Events(t)
	// Doubling a shell string past a 16 MiB limit gets the container
	// OOM-killed.
	st.Ctr(t, "run", "--rm", "--memory-limit", "16777216", image, "oomer", "sh", "-c", `a=xxxxxxxx; while true; do a="$a$a"; done`)
	waitLine(t, lines, "/tasks/oom", "oomer")
}
