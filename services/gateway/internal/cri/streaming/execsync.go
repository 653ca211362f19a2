package streaming

import (
	"bytes"
	"context"
	"fmt"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// MaxExecSyncOutput bounds each of ExecSync's output streams, as the
// kubelet bounds what it keeps of a probe's output.
const MaxExecSyncOutput = 16 << 20

// ExecSync runs a command in a container and returns its output and exit
// code. When the request's timeout runs out the process is killed and the
// call fails with DeadlineExceeded.
func (s *Server) ExecSync(ctx context.Context, req *runtimeapi.ExecSyncRequest) (*runtimeapi.ExecSyncResponse, error) {
	stdout, stderr := &cappedBuffer{max: MaxExecSyncOutput}, &cappedBuffer{max: MaxExecSyncOutput}
	code, err := s.execute(ctx, req.ContainerId, execOptions{
		cmd:     req.Cmd,
		stdout:  stdout,
		stderr:  stderr,
		timeout: time.Duration(req.Timeout) * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("exec in container %q: %w", req.ContainerId, err)
	}
	return &runtimeapi.ExecSyncResponse{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: int32(code)}, nil
}

// cappedBuffer keeps the first max bytes and drops the rest, still
// reporting them written so the process never blocks on its output.
type cappedBuffer struct {
	bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		if len(p) > room {
			b.Buffer.Write(p[:room])
		} else {
			b.Buffer.Write(p)
		}
	}
	return len(p), nil
}
