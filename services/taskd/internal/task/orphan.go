package task

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"

	"berth.dev/pkg/log"
	"berth.dev/pkg/mount"
	"berth.dev/services/taskd/internal/ociruntime"
)

// removeUnrecorded removes the tasks a previous taskd started but never
// recorded: killed between launching a shim and committing the task's
// record, it left a task directory (with the rootfs mounted), perhaps a
// shim with runc still creating the container, and runc state. Its client
// was told the create failed, so nothing may stay: not a container stuck in
// Created, nor a shim holding stale state. Recover calls it before taskd
// serves, so no create of this run can be mistaken for one.
func (m *Manager) removeUnrecorded(recs []record) {
	recorded := map[string]bool{}
	for _, r := range recs {
		recorded[taskKey(r.NS, r.ID)] = true
	}
	var orphans []string // ns/id
	seen := map[string]bool{}
	for _, dir := range []string{m.cfg.StateDir, m.cfg.RuncRoot, filepath.Dir(m.runtimeRoot("", ociruntime.Crun))} {
		for _, k := range twoLevels(dir) {
			if !recorded[k] && !seen[k] {
				seen[k] = true
				orphans = append(orphans, k)
			}
		}
	}
	if len(orphans) == 0 {
		return
	}
	procs := scanProcs()
	for _, k := range orphans {
		ns, id, _ := strings.Cut(k, "/")
		m.removeOrphan(ns, id, procs)
	}
}

// removeOrphan kills the shim of an unrecorded task with everything it
// started (runc create, its hooks), then does what Delete would: runc
// forgets the container, the rootfs is unmounted, the directories and the
// socket are removed.
func (m *Manager) removeOrphan(ns, id string, procs []proc) {
	l := log.G(m.ctx).With(zap.String("namespace", ns), zap.String("id", id))
	l.Warn("removing a task a killed taskd never recorded")
	bundle := m.bundle(ns, id)
	// The shim names its runtime; without a shim, whichever runtime has
	// state of the task.
	runtimes := []string{ociruntime.Runc, ociruntime.Crun}
	for _, p := range procs {
		if p.shimBundle == bundle {
			killSession(p.pid, procs)
			if p.shimRuntime != "" {
				runtimes = []string{p.shimRuntime}
			}
		}
	}
	for _, runtime := range runtimes {
		m.forgetInRuntime(l, ns, id, runtime)
	}
	if err := mount.UnmountAll(filepath.Join(bundle, "rootfs")); err != nil {
		l.Warn("unmounting the rootfs of an unrecorded task", zap.Error(err))
		return
	}
	removeBundle(bundle)
	os.Remove(m.socket(bundle))
}

// forgetInRuntime has runtime delete the container ns/id, killing what is
// left of it, if the runtime has state of it.
func (m *Manager) forgetInRuntime(l *zap.Logger, ns, id, runtime string) {
	root := m.runtimeRoot(ns, runtime)
	if _, err := os.Stat(filepath.Join(root, id)); err != nil {
		return
	}
	if out, err := exec.Command(runtime, "--root", root, "delete", "-f", id).CombinedOutput(); err != nil &&
		!bytes.Contains(out, []byte("does not exist")) {
		l.Warn("runtime delete of a task never created", zap.String("runtime", runtime), zap.String("output", strings.TrimSpace(string(out))), zap.Error(err))
	}
	// A create killed before the runtime wrote its state leaves a
	// directory the runtime itself no longer knows.
	os.RemoveAll(filepath.Join(root, id))
}

// proc is one process as removeUnrecorded needs it.
type proc struct {
	pid, session int
	// For a berth-shim: its -bundle and -runtime.
	shimBundle, shimRuntime string
}

// scanProcs lists the node's processes once.
func scanProcs() []proc {
	entries, _ := os.ReadDir("/proc")
	var out []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		p := proc{pid: pid, session: session(pid)}
		if b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); err == nil {
			args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
			if filepath.Base(args[0]) == "berth-shim" {
				for i := 0; i+1 < len(args); i++ {
					switch args[i] {
					case "-bundle":
						p.shimBundle = args[i+1]
					case "-runtime":
						p.shimRuntime = args[i+1]
					}
				}
			}
		}
		out = append(out, p)
	}
	return out
}

// session reads a process's session id from /proc/<pid>/stat (0 if gone,
// a zombie included).
func session(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name may hold spaces and parentheses: fields start after
	// the last ')'. They are state, ppid, pgrp, session.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 4 || f[0] == "Z" {
		return 0
	}
	sid, _ := strconv.Atoi(f[3])
	return sid
}

// killSession kills a shim and every process of its session (a shim starts
// one: runc and its hooks run in it) and waits until the shim is gone.
func killSession(shimPid int, procs []proc) {
	for _, p := range procs {
		if p.session == shimPid {
			syscall.Kill(p.pid, syscall.SIGKILL)
		}
	}
	syscall.Kill(shimPid, syscall.SIGKILL)
	deadline := time.Now().Add(5 * time.Second)
	for session(shimPid) != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}

// twoLevels lists dir/<ns>/<id> directories as ns/id.
func twoLevels(dir string) []string {
	var out []string
	nss, _ := os.ReadDir(dir)
	for _, ns := range nss {
		if !ns.IsDir() {
			continue
		}
		ids, _ := os.ReadDir(filepath.Join(dir, ns.Name()))
		for _, id := range ids {
			if id.IsDir() {
				out = append(out, ns.Name()+"/"+id.Name())
			}
		}
	}
	return out
}
