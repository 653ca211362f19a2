package streaming

import (
	"context"
	"fmt"
	"io"

	remotecommand "k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"
)

// streamRuntime is what the streaming library calls once a client connected.
type streamRuntime struct{ s *Server }

// Exec runs cmd with the client's streams; a non-zero exit is reported as
// an exit error, which the library turns into the exit code it sends.
func (r streamRuntime) Exec(ctx context.Context, containerID string, cmd []string, in io.Reader, out, errOut io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) error {
	o := execOptions{cmd: cmd, tty: tty, resize: resize}
	if in != nil {
		o.stdin = in
	}
	if out != nil {
		o.stdout = out
	}
	if errOut != nil && !tty {
		o.stderr = errOut
	}
	code, err := r.s.execute(ctx, containerID, o)
	if err != nil {
		return err
	}
	if code != 0 {
		return &utilexec.CodeExitError{Err: fmt.Errorf("command %v exited with %d", cmd, code), Code: int(code)}
	}
	return nil
}

// Attach joins the init process's stdio.
func (r streamRuntime) Attach(ctx context.Context, containerID string, in io.Reader, out, errOut io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) error {
	return r.s.attach(ctx, containerID, in, out, errOut, tty, resize)
}

// PortForward copies between the client and a port of the sandbox.
func (r streamRuntime) PortForward(ctx context.Context, podSandboxID string, port int32, stream io.ReadWriteCloser) error {
	return r.s.portForward(ctx, podSandboxID, port, stream)
}
