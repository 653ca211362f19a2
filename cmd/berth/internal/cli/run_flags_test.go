package cli

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"

	"github.com/containerd/errdefs"
)

func TestMemoryBytes(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "64m": 64 << 20, "1g": 1 << 30, "512k": 512 << 10, "1048576": 1 << 20, "1.5G": 3 << 29, "2mb": 2 << 20} {
		if got, err := memoryBytes(in); err != nil || got != want {
			t.Errorf("%q: %d %v, want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"lots", "-1m", "0"} {
		if _, err := memoryBytes(bad); !errdefs.IsInvalidArgument(err) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestRestartPolicy(t *testing.T) {
	for _, ok := range []string{"no", "always", "on-failure", "on-failure:3", "unless-stopped"} {
		if got, err := restartPolicy(ok); err != nil || got != ok {
			t.Errorf("%q: %q %v", ok, got, err)
		}
	}
	for _, bad := range []string{"", "sometimes", "always:2", "on-failure:x"} {
		if _, err := restartPolicy(bad); !errdefs.IsInvalidArgument(err) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestParseVolume(t *testing.T) {
	dir := t.TempDir()
	m, err := parseVolume(dir + ":/data:ro")
	if err != nil || m != (bindMount{source: dir, target: "/data", readOnly: true}) {
		t.Fatalf("%+v %v", m, err)
	}
	for _, bad := range []string{"named:/data", dir, dir + ":rel", dir + ":/d:zz"} {
		if _, err := parseVolume(bad); !errdefs.IsInvalidArgument(err) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if _, err := parseVolume("/no/such/dir:/d"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing source: %v", err)
	}
}

func TestEnvironmentOrderAndExpansion(t *testing.T) {
	t.Setenv("BERTH_TEST_HOST_VAR", "from-host")
	file := filepath.Join(t.TempDir(), "env")
	os.WriteFile(file, []byte("# comment\n\nA=file\nB=file\n"), 0o644)
	f := &runFlags{envFiles: []string{file}, env: []string{"B=flag", "BERTH_TEST_HOST_VAR"}}
	env, err := f.environment()
	want := []string{"A=file", "B=file", "B=flag", "BERTH_TEST_HOST_VAR=from-host"}
	if err != nil || !reflect.DeepEqual(env, want) {
		t.Fatalf("%v %v", env, err)
	}
	if _, err := (&runFlags{env: []string{"=x"}}).environment(); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("=x: %v", err)
	}
}

func TestCapabilities(t *testing.T) {
	opts, err := capabilities([]string{"net_admin", "CAP_SYS_TIME"}, []string{"ALL"})
	if err != nil || len(opts) != 2 {
		t.Fatalf("%d options, %v", len(opts), err)
	}
	if _, err := capabilities([]string{"bad cap"}, nil); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("bad cap: %v", err)
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]syscall.Signal{"KILL": syscall.SIGKILL, "sigterm": syscall.SIGTERM, "9": syscall.SIGKILL, "HUP": syscall.SIGHUP} {
		if got, err := parseSignal(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, bad := range []string{"NOPE", "0", "99"} {
		if _, err := parseSignal(bad); !errdefs.IsInvalidArgument(err) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestLookupID(t *testing.T) {
	dir := t.TempDir()
	passwd := filepath.Join(dir, "passwd")
	group := filepath.Join(dir, "group")
	os.WriteFile(passwd, []byte("root:x:0:0::/root:/bin/sh\nweb:x:1001:1002::/:/bin/false\n"), 0o644)
	os.WriteFile(group, []byte("root:x:0:\nstaff:x:50:\n"), 0o644)
	if uid, gid, err := lookupID(passwd, "web", true); err != nil || uid != 1001 || gid != 1002 {
		t.Fatalf("web: %d %d %v", uid, gid, err)
	}
	if uid, gid, err := lookupID(passwd, "1001", true); err != nil || uid != 1001 || gid != 1002 {
		t.Fatalf("1001: %d %d %v", uid, gid, err)
	}
	if uid, gid, err := lookupID(passwd, "4242", true); err != nil || uid != 4242 || gid != 4242 {
		t.Fatalf("4242: %d %d %v", uid, gid, err)
	}
	if gid, _, err := lookupID(group, "staff", false); err != nil || gid != 50 {
		t.Fatalf("staff: %d %v", gid, err)
	}
	if _, _, err := lookupID(passwd, "nobody", true); !errdefs.IsNotFound(err) {
		t.Fatalf("nobody: %v", err)
	}
}

func TestSplitNameAndNormalize(t *testing.T) {
	for name, want := range map[string][2]string{
		"docker.io/library/busybox:1": {"docker.io/library/busybox", "1"},
		"berth.local/busybox:1":       {"berth.local/busybox", "1"},
		"127.0.0.1:5000/a/b:latest":   {"127.0.0.1:5000/a/b", "latest"},
	} {
		if repo, tag := splitName(name); repo != want[0] || tag != want[1] {
			t.Errorf("%s: %s %s", name, repo, tag)
		}
	}
	if n := normalize("busybox"); n != "docker.io/library/busybox:latest" {
		t.Errorf("normalize: %s", n)
	}
}
