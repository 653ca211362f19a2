//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestCRIPreparedTaskLeavesNothing: CreateContainer has taskd start the
// container's shim and mount its rootfs ahead of StartContainer. A
// container removed without starting leaves no shim, mount or directory;
// one whose taskd was killed in between is cleaned up by taskd's restart
// and still starts; one whose start fails leaves no task.
func TestCRIPreparedTaskLeavesNothing(t *testing.T) {
	net0 := newCRINet(t)
	s, rs := criStack(t, net0)
	importCRIBusybox(t, s)
	ctx := context.Background()
	podCfg := podConfig(t, "prepared")
	pod := runPod(t, rs, podCfg)

	idle, err := rs.CreateContainer(ctx, pod, containerConfig("idle", "sleep", "600"), podCfg)
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	bundle := filepath.Join(s.State, "shims", "k8s.io", idle)
	eventually(t, "the created container's shim and rootfs are ready", func() bool {
		return len(shimPids(t, idle)) == 1 && mounted(t, filepath.Join(bundle, "rootfs"))
	})
	if err := rs.RemoveContainer(ctx, idle); err != nil {
		t.Fatalf("RemoveContainer: %v", err)
	}
	assertNoTaskLeft(t, idle, bundle)

	late, err := rs.CreateContainer(ctx, pod, containerConfig("late", "sleep", "600"), podCfg)
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	t.Cleanup(func() { rs.RemoveContainer(ctx, late) })
	bundle = filepath.Join(s.State, "shims", "k8s.io", late)
	eventually(t, "the second container's shim and rootfs are ready", func() bool {
		return len(shimPids(t, late)) == 1 && mounted(t, filepath.Join(bundle, "rootfs"))
	})
	s.Kill(t, "taskd")
	s.StartDaemon(t, "taskd")
	assertNoTaskLeft(t, late, bundle)
	if err := rs.StartContainer(ctx, late); err != nil {
		t.Fatalf("StartContainer after taskd's restart: %v", err)
	}
	if cs := containerState(t, rs, late); cs.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Fatalf("state after start: %v", cs.State)
	}
	if len(shimPids(t, late)) != 1 || !mounted(t, filepath.Join(bundle, "rootfs")) {
		t.Fatal("the started container has no shim or rootfs")
	}

	// A start that fails (taskd creates and starts in one call) reports
	// why and leaves no task behind.
	broken, err := rs.CreateContainer(ctx, pod, containerConfig("broken", "/no/such/program"), podCfg)
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	if err := rs.StartContainer(ctx, broken); err == nil {
		t.Fatal("a container without its program started")
	}
	if cs := containerState(t, rs, broken); cs.State != runtimeapi.ContainerState_CONTAINER_EXITED || cs.Reason != "StartError" || cs.ExitCode != 128 {
		t.Fatalf("failed start: state %v reason %q exit %d", cs.State, cs.Reason, cs.ExitCode)
	}
	bundle = filepath.Join(s.State, "shims", "k8s.io", broken)
	assertNoTaskLeft(t, broken, bundle)
	if err := rs.RemoveContainer(ctx, broken); err != nil {
		t.Fatalf("RemoveContainer of the failed container: %v", err)
	}
}

func assertNoTaskLeft(t *testing.T, id, bundle string) {
	t.Helper()
	if pids := shimPids(t, id); len(pids) != 0 {
		t.Errorf("shims of %s left: %v", id, pids)
	}
	if mounted(t, filepath.Join(bundle, "rootfs")) {
		t.Errorf("rootfs of %s left mounted", id)
	}
	if _, err := os.Stat(bundle); !os.IsNotExist(err) {
		t.Errorf("bundle of %s left: %v", id, err)
	}
}

// shimPids are the berth-shim processes of container id.
func shimPids(t *testing.T, id string) []string {
	t.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // exited meanwhile
		}
		args := strings.Split(string(bytes.TrimRight(b, "\x00")), "\x00")
		if filepath.Base(args[0]) != "berth-shim" {
			continue
		}
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "-id" && args[i+1] == id {
				pids = append(pids, filepath.Base(filepath.Dir(p)))
			}
		}
	}
	return pids
}

// mounted says whether something is mounted at dir.
func mounted(t *testing.T, dir string) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == dir {
			return true
		}
	}
	return false
}
