package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandsFlagsMerge catches shorthand clashes with the global
// flags, which cobra reports only by panicking at run time.
func TestEveryCommandsFlagsMerge(t *testing.T) {
	var walk func(*cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		n++
		c.InheritedFlags()
		c.LocalFlags()
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot(&globals{}))
	if n < 30 {
		t.Fatalf("only %d commands", n)
	}
}

func TestUsageErrorsExit125(t *testing.T) {
	var errOut bytes.Buffer
	g := &globals{stdout: &bytes.Buffer{}, stderr: &errOut}
	root := newRoot(g)
	root.SetArgs([]string{"ps", "--no-such-flag"})
	if code := report(g, root.Execute()); code != exitBerth || !strings.Contains(errOut.String(), "unknown flag") {
		t.Fatalf("exit %d, %q", code, errOut.String())
	}
}

func TestNotRunningSaysHowToStart(t *testing.T) {
	var errOut bytes.Buffer
	g := &globals{stdout: &bytes.Buffer{}, stderr: &errOut}
	root := newRoot(g)
	root.SetArgs([]string{"--address", t.TempDir() + "/none.sock", "ps"})
	if code := report(g, root.Execute()); code != exitBerth {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"Berth is not running", "make up", "systemctl start berth.target"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("%q lacks %q", errOut.String(), want)
		}
	}
}

// TestBusEventsRejectsBadInputBeforeConnecting: a bad node id or filter is
// a usage error at once, not a wait for a bus that may not be there.
func TestBusEventsRejectsBadInputBeforeConnecting(t *testing.T) {
	for _, args := range [][]string{
		{"events", "--node", "a.b"},
		{"events", "--all-nodes", "--filter", "topic=="},
		{"events", "--all-nodes", "--node", "n1"},
	} {
		var errOut bytes.Buffer
		g := &globals{stdout: &bytes.Buffer{}, stderr: &errOut}
		root := newRoot(g)
		root.SetArgs(append([]string{"--address", t.TempDir() + "/none.sock"}, args...))
		if code := report(g, root.Execute()); code != exitBerth || strings.Contains(errOut.String(), "not reachable") {
			t.Errorf("%v: exit %d, %q", args, code, errOut.String())
		}
	}
}
