//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// criLogLine is the CRI log format: timestamp, stream, tag, message.
var criLogLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\S+ (stdout|stderr) (F|P) (.*)$`)

// TestCRIContainerLogs checks that a container's output lands in its log
// path in the CRI format, and that the log is reopened after rotation.
func TestCRIContainerLogs(t *testing.T) {
	net0 := newCRINet(t)
	s, rs := criStack(t, net0)
	importCRIBusybox(t, s)
	ctx := context.Background()
	podCfg := podConfig(t, "logger")
	pod := runPod(t, rs, podCfg)

	cfg := containerConfig("talk", "sh", "-c", "echo out-line; echo err-line >&2")
	cfg.LogPath = "talk/0.log"
	talk := startContainer(t, rs, pod, podCfg, cfg)
	eventually(t, "talk exits", func() bool {
		return containerState(t, rs, talk).State == runtimeapi.ContainerState_CONTAINER_EXITED
	})
	logPath := filepath.Join(podCfg.LogDirectory, "talk/0.log")
	if got := containerState(t, rs, talk).LogPath; got != logPath {
		t.Fatalf("status log path %q, want %q", got, logPath)
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		m := criLogLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("log line %q is not in the CRI format", line)
		}
		seen[m[3]] = m[1]
	}
	if seen["out-line"] != "stdout" || seen["err-line"] != "stderr" {
		t.Fatalf("log %q: streams %v", b, seen)
	}

	cfg = containerConfig("ticker", "sh", "-c", "i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.1; done")
	cfg.LogPath = "ticker/0.log"
	ticker := startContainer(t, rs, pod, podCfg, cfg)
	tickLog := filepath.Join(podCfg.LogDirectory, "ticker/0.log")
	eventually(t, "ticker logs", func() bool {
		b, _ := os.ReadFile(tickLog)
		return strings.Contains(string(b), "tick1")
	})
	if err := os.Rename(tickLog, tickLog+".1"); err != nil {
		t.Fatal(err)
	}
	if err := rs.ReopenContainerLog(ctx, ticker); err != nil {
		t.Fatalf("ReopenContainerLog: %v", err)
	}
	eventually(t, "the reopened log fills", func() bool {
		b, _ := os.ReadFile(tickLog)
		return criLogLine.MatchString(strings.Split(string(b), "\n")[0]) && strings.Contains(string(b), "tick")
	})
}
