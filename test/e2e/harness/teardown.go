package harness

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// RequireRoot skips tests that need root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

func (s *Stack) teardown(t testing.TB, base string) {
	if t.Failed() {
		for _, name := range Daemons {
			if logs := s.Logs(name); logs != "" {
				t.Logf("--- %s log (tail) ---\n%s", name, tail(logs, 60))
			}
		}
	}
	for i := len(Daemons) - 1; i >= 0; i-- {
		s.Stop(t, Daemons[i])
	}
	if err := Cleanup(base); err != nil {
		t.Logf("remove %s: %v", base, err)
	}
}

// Cleanup removes what a stack rooted at base left: processes naming it
// (shims), runc containers, mounts, and the directory itself.
func Cleanup(base string) error {
	killMentioning(base)
	deleteRuncContainers("runc", filepath.Join(base, "state", "runc"))
	deleteRuncContainers("crun", filepath.Join(base, "state", "crun"))
	unmountUnder(base)
	return os.RemoveAll(base)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// killMentioning kills every process whose command line names dir: shims
// and anything else a stack left behind.
func killMentioning(dir string) {
	entries, _ := os.ReadDir("/proc")
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmdline), dir) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// deleteRuncContainers force-deletes containers under the runtime's roots
// below dir (one root per namespace).
func deleteRuncContainers(runtime, dir string) {
	roots, _ := filepath.Glob(filepath.Join(dir, "*"))
	roots = append(roots, dir)
	for _, root := range roots {
		ids, _ := os.ReadDir(root)
		for _, id := range ids {
			if id.IsDir() {
				exec.Command(runtime, "--root", root, "delete", "-f", id.Name()).Run()
			}
		}
	}
}

// unmountUnder detaches every mount below dir, deepest first.
func unmountUnder(dir string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir) {
			points = append(points, fields[4])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(points)))
	for _, p := range points {
		unix.Unmount(p, unix.MNT_DETACH)
	}
}
