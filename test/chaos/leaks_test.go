//go:build chaos

package chaos

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// base is the directory holding the stack's root and state.
func (r *run) base() string { return filepath.Dir(r.st.Root) }

// leaks lists what nothing the node reports accounts for: mounts, shims,
// runc state, task directories, temporary files and network namespaces.
func (r *run) leaks() []string {
	tasks, err := r.tasks()
	if err != nil {
		return []string{"listing tasks: " + err.Error()}
	}
	var out []string
	// What a killed taskd leaves is one known defect whatever its form.
	taskLeak := func(task, kind, detail string) {
		if r.leakedAt == nil {
			r.leakedAt = map[string]string{}
		}
		if _, ok := r.leakedAt[task]; !ok {
			r.leakedAt[task] = r.phase()
		}
		if r.leakedAt[task] == "kill-taskd" {
			kind = "leak-after-taskd-kill"
		}
		out = append(out, kind+"|"+detail)
	}
	shims := filepath.Join(r.st.State, "shims")
	for _, m := range mountsUnder(r.base()) {
		if m == contentDir(r.st) {
			continue
		}
		if rest, ok := strings.CutPrefix(m, shims+"/"); ok {
			parts := strings.Split(rest, "/")
			if len(parts) == 3 && parts[2] == "rootfs" {
				if !tasks[parts[0]+"/"+parts[1]] {
					taskLeak(parts[0]+"/"+parts[1], "leak-mount", "mount "+m)
				}
				continue
			}
		}
		out = append(out, "leak-mount|mount "+m)
	}
	for _, p := range shimProcs(r.base()) {
		if !tasks[p.task] {
			taskLeak(p.task, "leak-shim", fmt.Sprintf("shim pid %d for %s, which is no task", p.pid, p.task))
		}
	}
	// taskd runs crun where installed, and keeps its state beside runc's.
	for _, runtime := range []string{"runc", "crun"} {
		for _, d := range twoLevels(filepath.Join(r.st.State, runtime)) {
			if !tasks[d] {
				taskLeak(d, "leak-runc-state", runtime+" state of "+d+", which is no task")
			}
		}
	}
	for _, d := range twoLevels(shims) {
		if !tasks[d] {
			taskLeak(d, "leak-task-dir", "task directory "+d+", which is no task")
		}
	}
	for _, dir := range []string{filepath.Join(r.st.Root, "imaged", "tmp"), filepath.Join(r.st.Root, "snapshotd", "mounts")} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			out = append(out, "leak-temp|temporary file "+filepath.Join(dir, e.Name()))
		}
	}
	netns, _ := os.ReadDir("/run/netns")
	for _, e := range netns {
		for _, ns := range r.namespaces {
			if strings.Contains(e.Name(), ns) {
				out = append(out, "leak-netns|network namespace "+e.Name())
			}
		}
	}
	return out
}

// leakedLeases lists leases left in the run's namespaces, except those the
// load itself failed to delete.
func (r *run) leakedLeases() []string {
	var out []string
	for _, ns := range r.allNamespaces() {
		ctx, cancel := r.ctx(ns, 10*time.Second)
		ls, err := r.client.LeasesService().List(ctx)
		cancel()
		if err != nil {
			return []string{"listing leases: " + err.Error()}
		}
		for _, l := range ls {
			r.ledger.mu.Lock()
			own := r.ledger.leases[ns+"/"+l.ID]
			r.ledger.mu.Unlock()
			if own {
				continue
			}
			ctx, cancel := r.ctx(ns, 10*time.Second)
			res, _ := r.client.LeasesService().ListResources(ctx, l)
			cancel()
			detail := fmt.Sprintf("lease %s/%s (labels %v, holding %d resources)", ns, l.ID, l.Labels, len(res))
			// imaged's own (a server-side pull's) is one defect, a
			// client's lease another.
			if _, ok := l.Labels["berth.dev/pull"]; !ok {
				detail = "client-lease-leak|" + detail
			}
			out = append(out, detail)
		}
	}
	return out
}

// mountsUnder lists mount points below dir.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			out = append(out, fields[4])
		}
	}
	return out
}

type shimProc struct {
	pid  int
	task string // ns/id
}

// shimProcs finds the shims whose bundle is below base.
func shimProcs(base string) []shimProc {
	var out []shimProc
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) == 0 || filepath.Base(args[0]) != "berth-shim" {
			continue
		}
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "-bundle" && strings.HasPrefix(args[i+1], base+"/") {
				out = append(out, shimProc{pid: pid, task: filepath.Base(filepath.Dir(args[i+1])) + "/" + filepath.Base(args[i+1])})
			}
		}
	}
	return out
}

// twoLevels lists dir/<a>/<b> directories as a/b.
func twoLevels(dir string) []string {
	var out []string
	as, _ := os.ReadDir(dir)
	for _, a := range as {
		if !a.IsDir() {
			continue
		}
		bs, _ := os.ReadDir(filepath.Join(dir, a.Name()))
		for _, b := range bs {
			if b.IsDir() {
				out = append(out, a.Name()+"/"+b.Name())
			}
		}
	}
	return out
}
