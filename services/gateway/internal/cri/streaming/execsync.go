package streaming

import (
	"bytes"
	"context"
	"sync"
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
		return nil, err
	}
	return &runtimeapi.ExecSyncResponse{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: int32(code)}, nil
}

// cappedBuffer keeps the first max bytes and drops the rest, still
// reporting them written so the process never blocks on its output.
// The buffer is a field, not embedded: an embedded bytes.Buffer would lend
// its ReadFrom to io.Copy, which would then bypass the cap.
type cappedBuffer struct {
	mu  sync.Mutex // the copy may still run when ExecSync answers
	buf bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		if len(p) > room {
			b.buf.Write(p[:room])
		} else {
			b.buf.Write(p)
		}
	}
	return len(p), nil
}

// Bytes returns a copy of what was kept.
func (b *cappedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}
