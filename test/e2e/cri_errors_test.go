//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	criapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestCRIBadInput checks the codes the kubelet acts on.
func TestCRIBadInput(t *testing.T) {
	net0 := newCRINet(t)
	conf := filepath.Join(net0.ConfDir, "10-berth.conflist")
	if err := os.Rename(conf, conf+".later"); err != nil {
		t.Fatal(err)
	}
	s, rs := criStack(t, net0)
	importCRIBusybox(t, s)
	ctx := context.Background()
	unknown := strings.Repeat("ab", 32)

	// No CNI configuration yet: the network is not ready, and says why.
	if c := networkCondition(t, rs); c.Status || c.Reason != "NetworkPluginNotReady" || c.Message == "" {
		t.Fatalf("network condition without a config: %v", c)
	}
	if err := os.Rename(conf+".later", conf); err != nil {
		t.Fatal(err)
	}
	if c := networkCondition(t, rs); !c.Status {
		t.Fatalf("network condition with a config: %v", c)
	}

	_, err := rs.PodSandboxStatus(ctx, unknown, false)
	wantCode(t, "status of an unknown pod", err, codes.NotFound)
	_, err = rs.ContainerStatus(ctx, unknown, false)
	wantCode(t, "status of an unknown container", err, codes.NotFound)
	wantCode(t, "stop of an unknown pod", rs.StopPodSandbox(ctx, unknown), codes.OK)
	wantCode(t, "remove of an unknown pod", rs.RemovePodSandbox(ctx, unknown), codes.OK)
	wantCode(t, "stop of an unknown container", rs.StopContainer(ctx, unknown, 1), codes.OK)
	wantCode(t, "remove of an unknown container", rs.RemoveContainer(ctx, unknown), codes.OK)
	wantCode(t, "start of an unknown container", rs.StartContainer(ctx, unknown), codes.NotFound)

	_, err = rs.RunPodSandbox(ctx, &runtimeapi.PodSandboxConfig{}, "")
	wantCode(t, "pod without metadata", err, codes.InvalidArgument)

	podCfg := podConfig(t, "bad")
	pod := runPod(t, rs, podCfg)
	_, err = rs.RunPodSandbox(ctx, podCfg, "")
	wantCode(t, "pod with a taken name", err, codes.AlreadyExists)
	if !strings.Contains(err.Error(), pod) {
		t.Fatalf("duplicate pod error does not name the holder %s: %v", pod, err)
	}

	_, err = rs.CreateContainer(ctx, pod, &runtimeapi.ContainerConfig{Image: &runtimeapi.ImageSpec{Image: criBusybox}}, podCfg)
	wantCode(t, "container without metadata", err, codes.InvalidArgument)
	_, err = rs.CreateContainer(ctx, unknown, containerConfig("c", "true"), podCfg)
	wantCode(t, "container in an unknown pod", err, codes.NotFound)
	cfg := containerConfig("c", "true")
	cfg.Image.Image = "berth.local/missing:1"
	_, err = rs.CreateContainer(ctx, pod, cfg, podCfg)
	wantCode(t, "container of an unknown image", err, codes.NotFound)
	for _, p := range []string{"/abs/0.log", "../escape.log"} {
		cfg = containerConfig("c", "true")
		cfg.LogPath = p
		_, err = rs.CreateContainer(ctx, pod, cfg, podCfg)
		wantCode(t, "log path "+p, err, codes.InvalidArgument)
	}

	cfg = containerConfig("c", "sleep", "60")
	id, err := rs.CreateContainer(ctx, pod, cfg, podCfg)
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	t.Cleanup(func() { rs.RemoveContainer(ctx, id) })
	_, err = rs.CreateContainer(ctx, pod, cfg, podCfg)
	wantCode(t, "container with a taken name", err, codes.AlreadyExists)
	if !strings.Contains(err.Error(), id) {
		t.Fatalf("duplicate container error does not name the holder %s: %v", id, err)
	}
	wantCode(t, "exec in a container not started", execErr(rs, id), codes.FailedPrecondition)
	if err := rs.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "second start", rs.StartContainer(ctx, id), codes.FailedPrecondition)
}

func networkCondition(t *testing.T, rs criapi.RuntimeService) *runtimeapi.RuntimeCondition {
	t.Helper()
	st, err := rs.Status(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range st.Status.Conditions {
		if c.Type == runtimeapi.NetworkReady {
			return c
		}
	}
	t.Fatalf("no NetworkReady condition in %v", st)
	return nil
}

func execErr(rs criapi.RuntimeService, id string) error {
	_, _, err := rs.ExecSync(context.Background(), id, []string{"true"}, 5*time.Second)
	return err
}

// TestCRIFailingCNIPlugin: a plugin failing after the address was
// allocated leaves no sandbox, namespace, address or pause container.
func TestCRIFailingCNIPlugin(t *testing.T) {
	plugin := fmt.Sprintf("berth-fail-%d", os.Getpid())
	net0 := newCRINet(t, map[string]any{"type": plugin})
	script := `#!/bin/sh
case "$CNI_COMMAND" in
ADD) echo '{"cniVersion":"1.0.0","code":100,"msg":"refused by the test plugin"}'; exit 1 ;;
VERSION) echo '{"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0","1.1.0"]}' ;;
esac
exit 0
`
	if err := os.WriteFile(filepath.Join(net0.BinDir, plugin), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	s, rs := criStack(t, net0)
	ctx := context.Background()
	_, err := rs.RunPodSandbox(ctx, podConfig(t, "failing"), "")
	if err == nil || !strings.Contains(err.Error(), "refused by the test plugin") {
		t.Fatalf("RunPodSandbox with a failing plugin: %v", err)
	}
	if pods, _ := rs.ListPodSandbox(ctx, nil); len(pods) != 0 {
		t.Fatalf("pods left: %v", pods)
	}
	entries, _ := os.ReadDir(filepath.Join(s.State, "netns"))
	if len(entries) != 0 {
		t.Fatalf("netns left: %v", entries)
	}
	allocs, _ := os.ReadDir(filepath.Join(net0.DataDir, "berth-"+net0.Bridge))
	for _, e := range allocs {
		if strings.HasPrefix(e.Name(), net0.Prefix) {
			t.Fatalf("address %s left allocated", e.Name())
		}
	}
	if out := s.MustCtr(t, "-n", "k8s.io", "containers", "ls", "-q"); strings.TrimSpace(out) != "" {
		t.Fatalf("containers left:\n%s", out)
	}
	if out := s.MustCtr(t, "-n", "k8s.io", "tasks", "ls", "-q"); strings.TrimSpace(out) != "" {
		t.Fatalf("tasks left:\n%s", out)
	}
}
