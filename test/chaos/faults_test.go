//go:build chaos

package chaos

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// fault is one kind of failure the run injects; inject reports whether it
// found something to break.
type fault struct {
	name   string
	inject func(r *run) bool
}

var faults = []fault{
	{"kill-imaged", func(r *run) bool { return r.killDaemon("imaged") }},
	{"kill-snapshotd", func(r *run) bool { return r.killDaemon("snapshotd") }},
	{"kill-taskd", func(r *run) bool { return r.killDaemon("taskd") }},
	{"kill-gateway", func(r *run) bool { return r.killDaemon("gateway") }},
	{"kill-shim", (*run).killShim},
	{"kill-runc-create", (*run).killRuncCreate},
	{"nats-restart", (*run).restartNATS},
	{"content-fs-full", (*run).fillContent},
	{"registry-reset", func(r *run) bool { return r.registryFault(faultReset) }},
	{"registry-stall", func(r *run) bool { return r.registryFault(faultStall) }},
}

// jitter waits a random moment (seeded) so that a fault lands somewhere in
// the middle of the load's operations.
func (r *run) jitter(max time.Duration) {
	time.Sleep(time.Duration(r.rng.Int63n(int64(max))))
}

// killDaemon sends SIGKILL to a daemon and starts it again.
func (r *run) killDaemon(name string) bool {
	r.jitter(1500 * time.Millisecond)
	r.st.KillNow(name)
	r.restart(name)
	return true
}

func (r *run) restart(name string) {
	if err := r.st.Launch(name); err != nil {
		r.stats.violate("daemon-restart", r.phase(), "%v\n%s", err, tailFile(r.st.LogPath(name), 30))
		// One more try, so that the run can go on.
		r.st.KillNow(name)
		if err := r.st.Launch(name); err != nil {
			r.t.Fatalf("%s does not start again: %v", name, err)
		}
	}
}

// killShim sends SIGKILL to one of the stack's shims.
func (r *run) killShim() bool {
	r.jitter(time.Second)
	shims := shimProcs(r.base())
	if len(shims) == 0 {
		return false
	}
	p := shims[r.rng.Intn(len(shims))]
	return syscall.Kill(p.pid, syscall.SIGKILL) == nil
}

// killRuncCreate waits for a `runc create` of the stack (or `crun create`:
// taskd runs crun where installed) and kills it.
func (r *run) killRuncCreate() bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, pid := range procsWith(func(args []string) bool {
			if len(args) < 2 {
				return false
			}
			runtime := filepath.Base(args[0])
			if runtime != "runc" && runtime != "crun" {
				return false
			}
			root := filepath.Join(r.st.State, runtime) + "/"
			hasRoot, create := false, false
			for _, a := range args {
				hasRoot = hasRoot || strings.HasPrefix(a, root)
				create = create || a == "create"
			}
			return hasRoot && create
		}) {
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				return true
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	return false
}

// procsWith lists processes whose arguments match.
func procsWith(match func([]string) bool) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || len(b) == 0 {
			continue
		}
		if match(strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")) {
			out = append(out, pid)
		}
	}
	return out
}

// restartNATS stops NATS for a moment while the load goes on: the external
// server, or the embedded one by killing the gateway that runs it.
func (r *run) restartNATS() bool {
	if r.nats == nil {
		return r.killDaemon("gateway")
	}
	r.jitter(time.Second)
	r.nats.Stop()
	r.jitter(3 * time.Second)
	r.nats.Restart()
	return true
}

func tailFile(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
