package cli

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{exitStatus{3}, 3},
		{errors.New("boom"), exitBerth},
		{startFailure{errors.New(`exec: "nope": executable file not found in $PATH`)}, exitNotFound},
		{fmt.Errorf("start: %w", startFailure{errors.New("exec /etc: permission denied")}), exitCannotExecute},
		{usageError{errors.New("unknown flag")}, exitBerth},
	} {
		g := &globals{stderr: &bytes.Buffer{}}
		if got := report(g, tc.err); got != tc.want {
			t.Errorf("%v: exit %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestExplainDaemonDown(t *testing.T) {
	err := fmt.Errorf("imaged is unavailable (/run/berth/imaged.sock): connection refused: %w", errdefs.ErrUnavailable)
	msg := explain(err)
	for _, want := range []string{"imaged daemon is not running", "make up", "systemctl start berth-imaged"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
	if msg := explain(notRunningError{"/x.sock", "no socket"}); !strings.Contains(msg, "systemctl start berth.target") {
		t.Errorf("not running: %q", msg)
	}
}

func TestProblemKeepsItsKind(t *testing.T) {
	err := fmt.Errorf("rm: %w", problem(errdefs.ErrFailedPrecondition, "container %s is running", "x"))
	if !errdefs.IsFailedPrecondition(err) || explain(err) != "rm: container x is running" {
		t.Fatalf("%v", err)
	}
}
