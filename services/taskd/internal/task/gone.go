package task

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"go.uber.org/zap"

	"berth.dev/pkg/log"
	"berth.dev/services/taskd/internal/shim"
)

// killedStatus is what a container killed for want of a shim exits with
// (128 + SIGKILL), the status containerd's runc shim reports when it cleans
// up after a shim that died.
const killedStatus = 128 + 9

// shimDied tells a shim that died from a connection taskd closed itself (a
// Delete in progress) or lost for another reason: a live shim still accepts
// connections on its socket.
func (m *Manager) shimDied(t *Task, err error) bool {
	if !errdefs.IsUnavailable(err) || t.deleting.Load() {
		return false
	}
	c, derr := net.DialTimeout("unix", t.shim.Socket, time.Second)
	if derr == nil {
		c.Close()
		return false
	}
	return true
}

// settleGone decides, once, how the task of a dead shim ended and returns
// its init process's exit; every later question (State, Wait, Delete, a
// restarted taskd) gets the same answer.
func (m *Manager) settleGone(t *Task) shim.Exit {
	t.settleOnce.Do(func() { t.settled = m.reapDeadShim(t) })
	return t.settled
}

// reapDeadShim does what containerd does when a shim disconnects: runc
// kills what is left of the container and forgets it (nothing would reap
// its processes or drain their stdio any more), and the init process's exit
// is published: the one the shim recorded before dying, or else exit
// status 137 at the pid runc created. The exit is added to the shim's exit
// log so that a restarted taskd settles it the same way. The task stays
// listed, stopped, until it is deleted, as any other stopped task.
func (m *Manager) reapDeadShim(t *Task) shim.Exit {
	l := log.G(m.ctx).With(zap.String("namespace", t.NS), zap.String("id", t.ID))
	if out, err := exec.Command(t.Runtime, "--root", m.runtimeRoot(t.NS, t.Runtime), "delete", "-f", t.ID).CombinedOutput(); err != nil &&
		!strings.Contains(string(out), "does not exist") {
		l.Warn("runc delete after the shim died", zap.String("output", strings.TrimSpace(string(out))), zap.Error(err))
	}
	exits, err := shim.ReadExits(t.Bundle)
	if err != nil {
		l.Warn("reading the exit log of a dead shim", zap.Error(err))
	}
	init := -1
	for i, e := range exits {
		if e.ExecID == "" {
			init = i
		}
	}
	if init < 0 {
		e := shim.Exit{Pid: initPid(t.Bundle), Status: killedStatus, ExitedAt: time.Now()}
		if err := shim.RecordExit(t.Bundle, e); err != nil {
			l.Warn("recording the exit of a dead shim's task", zap.Error(err))
		}
		exits = append(exits, e)
		init = len(exits) - 1
	}
	for _, e := range exits {
		m.publishExit(t, e)
	}
	return exits[init]
}

// initPid reads the pid runc wrote for the init process (0 if it never
// did).
func initPid(bundle string) int {
	b, err := os.ReadFile(filepath.Join(bundle, "init.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// deadShimError turns the error of a call to a shim that died into what
// the call means for a task that is stopped: its processes are finished
// (kind, NotFound for signalling one, as containerd's shim answers), and
// settles the task. Other errors pass unchanged.
func (m *Manager) deadShimError(t *Task, err error, kind error) error {
	if err == nil || !m.shimDied(t, err) {
		return err
	}
	m.settleGone(t)
	return fmt.Errorf("task %q: its shim died, its processes are finished: %w", t.ID, kind)
}

// goneState is a dead shim's task as State reports it.
func goneState(e shim.Exit) shim.State {
	return shim.State{Pid: e.Pid, Status: shim.StatusStopped, ExitStatus: e.Status, ExitedAt: e.ExitedAt}
}
