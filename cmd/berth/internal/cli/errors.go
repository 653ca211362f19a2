package cli

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/containerd/errdefs"
)

// Exit codes follow docker's: the container's own status when it ran, 125
// when berth or the node failed, 126 when the command could not be
// executed, 127 when it was not found.
const (
	exitBerth         = 125
	exitCannotExecute = 126
	exitNotFound      = 127
)

// exitStatus ends berth with a container's exit code and no message.
type exitStatus struct{ code int }

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// usageError is a bad command line.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// notRunningError says the node socket has nobody behind it.
type notRunningError struct{ socket, why string }

func (e notRunningError) Error() string {
	return fmt.Sprintf("Berth is not running: %s (%s).\nStart it with `make up` in a Berth checkout, or `systemctl start berth.target`.\nAnother node socket can be given with --address or $BERTH_ADDRESS.", e.why, e.socket)
}

// permissionError says the socket exists but may not be opened.
type permissionError struct{ socket string }

func (e permissionError) Error() string {
	return fmt.Sprintf("permission denied on the node socket %s: run berth as root (sudo berth ...) or as a member of the group that owns the socket", e.socket)
}

// daemonDown matches the gateway's message for a daemon it cannot reach.
var daemonDown = regexp.MustCompile(`(\w+) is unavailable \(([^)]+)\)`)

// explain turns an error into what a person should read.
func explain(err error) string {
	msg := err.Error()
	if m := daemonDown.FindStringSubmatch(msg); m != nil && errors.Is(err, errdefs.ErrUnavailable) {
		return fmt.Sprintf("Berth's %s daemon is not running (its socket %s does not answer).\nStart it with `make up` in a Berth checkout, or `systemctl start berth-%s`; its log is in $BERTH_ROOT/logs/%s.log or `journalctl -u berth-%s`.",
			m[1], m[2], m[1], m[1], m[1])
	}
	return strings.TrimSpace(msg)
}

// report prints err for a person and returns the exit code.
func report(g *globals, err error) int {
	if err == nil {
		return 0
	}
	var st exitStatus
	if errors.As(err, &st) {
		return st.code
	}
	if g.debug {
		fmt.Fprintf(g.stderr, "berth: %+v\n", err)
	} else {
		fmt.Fprintf(g.stderr, "berth: %s\n", explain(err))
	}
	return exitCode(err)
}

// startFailure marks an error from starting a container's or exec's process.
type startFailure struct{ error }

func (e startFailure) Unwrap() error { return e.error }

func exitCode(err error) int {
	var sf startFailure
	if errors.As(err, &sf) {
		msg := strings.ToLower(sf.Error())
		switch {
		case strings.Contains(msg, "executable file not found"), strings.Contains(msg, "no such file or directory"):
			return exitNotFound
		case strings.Contains(msg, "permission denied"), strings.Contains(msg, "exec format error"), strings.Contains(msg, "is a directory"):
			return exitCannotExecute
		}
	}
	return exitBerth
}

// problem is an error berth explains itself: its message is for a person
// and stands alone, while errors.Is still finds the errdefs kind.
type problemError struct {
	msg  string
	kind error
}

func (e problemError) Error() string { return e.msg }
func (e problemError) Unwrap() error { return e.kind }

func problem(kind error, format string, args ...any) error {
	return problemError{msg: fmt.Sprintf(format, args...), kind: kind}
}
