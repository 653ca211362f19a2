package task

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	apievents "github.com/containerd/containerd/api/events"
	tasksapi "github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/api/types/runc/options"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"
	"github.com/dgraph-io/badger/v4"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/anypb"

	"berth.dev/pkg/events"
	"berth.dev/pkg/log"
	"berth.dev/pkg/namespace"
	"berth.dev/services/taskd/internal/ociruntime"
	"berth.dev/services/taskd/internal/shim"
)

// Create builds the bundle, starts the shim and creates the init process.
// On any failure nothing is left behind: no shim, mount or directory.
func (m *Manager) Create(ctx context.Context, req *tasksapi.CreateTaskRequest) (_ *Task, err error) {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return nil, err
	}
	if req.Checkpoint != nil {
		return nil, fmt.Errorf("restoring from a checkpoint needs CRIU, which Berth does not drive: %w", errdefs.ErrNotImplemented)
	}
	c, err := m.containers.GetIn(ns, req.ContainerID)
	if err != nil {
		return nil, err
	}
	if err := m.waitLeft(ctx, ns, c.ID); err != nil {
		return nil, err
	}
	m.mu.Lock()
	if _, ok := m.tasks[taskKey(ns, c.ID)]; ok {
		m.mu.Unlock()
		return nil, fmt.Errorf("task %q: %w", c.ID, errdefs.ErrAlreadyExists)
	}
	// Reserve the id while the task is built.
	t := &Task{NS: ns, ID: c.ID, Bundle: m.bundle(ns, c.ID), instance: newInstance()}
	m.tasks[taskKey(ns, c.ID)] = t
	m.mu.Unlock()
	defer func() {
		if err != nil {
			m.forget(t)
		}
	}()
	stdio := shim.Stdio{Stdin: req.Stdin, Stdout: req.Stdout, Stderr: req.Stderr, Terminal: req.Terminal}
	if err := shim.ValidateStdio(stdio); err != nil {
		return nil, err
	}
	choice := runtimeOptions(m.cfg.DefaultRuntime, req.Options, c.Runtime.GetOptions())
	t.Runtime = choice.Binary
	if err := ociruntime.Check(t.Runtime); err != nil {
		return nil, err
	}
	t.Rootfs = filepath.Join(t.Bundle, "rootfs")
	// A preparation (Prepare) that fits is the shim, bundle and rootfs
	// this create would make; one that does not is undone first.
	if p := m.takePrepared(ns, c.ID); p != nil {
		if p.fits(choice, req.Rootfs, c.Spec.GetValue()) {
			t.shim = p.shim
		} else {
			p.undo()
		}
	}
	if t.shim == nil {
		if t.shim, err = m.makeBundle(ns, c.ID, t.Bundle, choice, c.Spec, req.Rootfs); err != nil {
			return nil, err
		}
	}
	defer func() {
		// Nothing of the failed task may stay: not its shim (which would
		// otherwise wait for a Delete that never comes), nor runc's state,
		// nor the rootfs mount and the bundle. The shim goes first.
		if err != nil {
			dismantle(t.shim, t.Bundle)
		}
	}()
	st, err := m.createInit(ctx, t, shim.CreateRequest{Stdio: stdio})
	if err != nil {
		return nil, fmt.Errorf("create task %q: %w", c.ID, t.shim.StartError(err))
	}
	t.Pid = st.Pid
	err = m.outbox.Update(ctx, func(txn *badger.Txn, rec *events.Recorder) error {
		if err := putRecord(txn, t); err != nil {
			return err
		}
		return rec.Add(ns, events.TopicTaskCreate, &apievents.TaskCreate{ContainerID: c.ID, Bundle: t.Bundle, Rootfs: req.Rootfs,
			IO: &apievents.TaskIO{Stdin: req.Stdin, Stdout: req.Stdout, Stderr: req.Stderr, Terminal: req.Terminal}, Pid: uint32(st.Pid)})
	})
	if err != nil {
		return nil, err
	}
	t.ready.Store(true)
	go m.monitor(t, "")
	go m.watchOOM(t)
	return t, nil
}

// createInit asks t's shim to create the init process, for as long as the
// caller waits. The create may wait on the caller's side of the task (a
// stdout fifo must have a reader, a createRuntime hook must return) and so
// never end; going on without the caller would keep the task's id reserved
// for ever: no task listed, its container refused as in use, and its shim,
// mount and directory left with no record. So when the caller gives up (its
// deadline, its connection), the shim is killed with what it started and
// the runtime forgets whatever it made of the container; Create's failure
// path removes the rest, as for any failed create, and the caller was told
// it failed.
func (m *Manager) createInit(ctx context.Context, t *Task, req shim.CreateRequest) (shim.State, error) {
	type result struct {
		st  shim.State
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := t.shim.Create(req)
		done <- result{st, err}
	}()
	select {
	case r := <-done:
		return r.st, r.err
	case <-ctx.Done():
	}
	// The shim may be waiting on the caller's side and answer nothing, a
	// Shutdown included. The runtime and its hooks run in the shim's
	// session, in process groups of their own.
	if pid := t.shim.Pid(); pid != 0 {
		killSession(pid, scanProcs())
	}
	t.shim.Close()
	<-done // fails now that the connection is gone
	m.forgetInRuntime(log.G(ctx).With(zap.String("namespace", t.NS), zap.String("id", t.ID)), t.NS, t.ID, t.Runtime)
	return shim.State{}, fmt.Errorf("the caller gave up: %w", ctx.Err())
}

func (m *Manager) forget(t *Task) {
	m.mu.Lock()
	delete(m.tasks, taskKey(t.NS, t.ID))
	m.mu.Unlock()
}

// runtimeChoice is what runc options say about running a task: which OCI
// runtime (BinaryName, for example crun) and whether its cgroups are named
// for systemd (SystemdCgroup: the CRI sets it when pods use systemd's
// cgroup driver, and the runtime must then be told so, or it takes the
// "slice:prefix:name" cgroups path for a directory).
type runtimeChoice struct {
	Binary        string
	SystemdCgroup bool
}

// runtimeOptions reads runc options of the task first, then of the
// container; def is the binary when neither names one.
func runtimeOptions(def string, anys ...*anypb.Any) runtimeChoice {
	var rc runtimeChoice
	seen := false
	for _, a := range anys {
		if a == nil || a.TypeUrl == "" {
			continue
		}
		v, err := typeurl.UnmarshalAny(a)
		if err != nil {
			continue // options of another runtime: not ours to read
		}
		o, ok := v.(*options.Options)
		if !ok {
			continue
		}
		if rc.Binary == "" {
			rc.Binary = o.BinaryName
		}
		// The first options given decide the cgroup driver, as they do
		// the binary when they name one.
		if !seen {
			rc.SystemdCgroup, seen = o.SystemdCgroup, true
		}
	}
	if rc.Binary == "" {
		rc.Binary = def
	}
	if rc.Binary == "" {
		rc.Binary = ociruntime.Runc
	}
	return rc
}

// writeSpec writes config.json, clamping a negative oom_score_adj to taskd's
// own: lowering it needs CAP_SYS_RESOURCE, which runc would fail without;
// and with a version the runtime takes (ociruntime.SpecVersion).
func writeSpec(bundle, runtime string, spec *anypb.Any) error {
	if spec == nil || len(spec.Value) == 0 {
		return fmt.Errorf("container has no spec: %w", errdefs.ErrInvalidArgument)
	}
	var s specs.Spec
	if err := json.Unmarshal(spec.Value, &s); err != nil {
		return fmt.Errorf("container spec: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	s.Version = ociruntime.SpecVersion(runtime, s.Version)
	if s.Process != nil && s.Process.OOMScoreAdj != nil {
		if own := ownOOMScoreAdj(); *s.Process.OOMScoreAdj < own {
			*s.Process.OOMScoreAdj = own
		}
	}
	b, err := json.Marshal(&s)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(bundle, "config.json"), b, 0o600)
}

func ownOOMScoreAdj() int {
	b, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		return 0
	}
	var v int
	fmt.Sscanf(string(b), "%d", &v)
	return v
}
