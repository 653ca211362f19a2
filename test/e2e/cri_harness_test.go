//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	criapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	remote "k8s.io/cri-client/pkg"

	"berth.dev/test/e2e/harness"
)

// builtinPause is the sandbox image that never needs a registry.
const builtinPause = "berth.dev/pause:builtin"

// criNet is a CNI bridge network of one test: its own bridge, subnet and
// address store, so concurrent runs do not meet.
type criNet struct {
	ConfDir, BinDir, DataDir string
	Bridge                   string
	Subnet                   string // 10.88.x.0/24
	Prefix                   string // 10.88.x.
}

// newCRINet writes a bridge+host-local+portmap conflist (plus extra
// plugins) into a temp conf dir; the bridge is deleted at cleanup.
func newCRINet(t testing.TB, extra ...map[string]any) *criNet {
	t.Helper()
	x := 1 + rand.IntN(250)
	n := &criNet{
		ConfDir: t.TempDir(), BinDir: t.TempDir(), DataDir: t.TempDir(),
		Bridge: fmt.Sprintf("bcri%06x", rand.IntN(1<<24)),
		Subnet: fmt.Sprintf("10.88.%d.0/24", x), Prefix: fmt.Sprintf("10.88.%d.", x),
	}
	plugins := []map[string]any{
		{"type": "bridge", "bridge": n.Bridge, "isGateway": true, "ipMasq": false, "hairpinMode": true,
			"ipam": map[string]any{"type": "host-local", "dataDir": n.DataDir, "ranges": [][]map[string]string{{{"subnet": n.Subnet}}},
				"routes": []map[string]string{{"dst": "0.0.0.0/0"}}}},
		{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
	}
	plugins = append(plugins, extra...)
	conf, _ := json.Marshal(map[string]any{"cniVersion": "1.0.0", "name": "berth-" + n.Bridge, "plugins": plugins})
	if err := os.WriteFile(filepath.Join(n.ConfDir, "10-berth.conflist"), conf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", n.Bridge).Run() })
	return n
}

// criStack starts Berth with the CRI on net and returns the kubelet's
// client for it.
func criStack(t testing.TB, net *criNet, opts ...harness.Option) (*harness.Stack, criapi.RuntimeService) {
	t.Helper()
	opts = append([]harness.Option{harness.WithEnv(
		"BERTH_CNI_CONF_DIR="+net.ConfDir,
		"BERTH_CNI_BIN_DIR="+net.BinDir+":/usr/lib/cni:/opt/cni/bin",
		"BERTH_SANDBOX_IMAGE="+builtinPause,
	)}, opts...)
	s := harness.Start(t, opts...)
	return s, criClient(t, s)
}

func criClient(t testing.TB, s *harness.Stack) criapi.RuntimeService {
	t.Helper()
	rs, err := remote.NewRemoteRuntimeService(context.Background(), "unix://"+s.Socket, 30*time.Second, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// podConfig is a pod on the pod network with its log directory.
func podConfig(t testing.TB, name string) *runtimeapi.PodSandboxConfig {
	uid := fmt.Sprintf("uid-%08x", rand.Uint32())
	return &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Uid: uid, Namespace: "e2e"},
		Hostname:     name,
		LogDirectory: t.TempDir(),
		Labels:       map[string]string{"app": name},
		Linux:        &runtimeapi.LinuxPodSandboxConfig{},
	}
}

// runPod runs a pod and removes it at cleanup.
func runPod(t *testing.T, rs criapi.RuntimeService, cfg *runtimeapi.PodSandboxConfig) string {
	t.Helper()
	ctx := context.Background()
	id, err := rs.RunPodSandbox(ctx, cfg, "")
	if err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	t.Cleanup(func() {
		rs.StopPodSandbox(ctx, id)
		rs.RemovePodSandbox(ctx, id)
	})
	return id
}

// sandboxInfo decodes PodSandboxStatus's verbose info.
func sandboxInfo(t *testing.T, rs criapi.RuntimeService, id string) (*runtimeapi.PodSandboxStatus, map[string]any) {
	t.Helper()
	resp, err := rs.PodSandboxStatus(context.Background(), id, true)
	if err != nil {
		t.Fatalf("PodSandboxStatus: %v", err)
	}
	info := map[string]any{}
	if err := json.Unmarshal([]byte(resp.Info["info"]), &info); err != nil {
		t.Fatalf("verbose info %q: %v", resp.Info["info"], err)
	}
	return resp.Status, info
}

func wantCode(t *testing.T, what string, err error, code codes.Code) {
	t.Helper()
	if got := status.Code(err); got != code {
		t.Fatalf("%s: got %v (%v), want %v", what, got, err, code)
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
