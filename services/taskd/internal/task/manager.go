package task

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/containerd/errdefs"
	"github.com/dgraph-io/badger/v4"

	"berth.dev/pkg/events"
	"berth.dev/pkg/namespace"
	"berth.dev/services/taskd/internal/container"
	"berth.dev/services/taskd/internal/ociruntime"
	"berth.dev/services/taskd/internal/shim"
)

// Config says where tasks live.
type Config struct {
	// StateDir holds a directory per task: <StateDir>/<ns>/<id>.
	StateDir string
	// SocketDir holds the shims' sockets, named by a hash of the bundle
	// path so their length does not grow with namespace or id.
	SocketDir string
	// RuncRoot holds runc's state, one root per namespace; another
	// runtime keeps its state beside it, under its own name (crun/<ns>).
	RuncRoot string
	// DefaultRuntime runs containers that name no runtime binary
	// (ociruntime.Default).
	DefaultRuntime string
	// ShimBinary is the berth-shim executable.
	ShimBinary string
}

// Manager owns the node's tasks.
type Manager struct {
	cfg        Config
	db         *badger.DB
	outbox     *events.Outbox
	containers *container.Store
	ctx        context.Context // the daemon's: monitors stop with it

	mu    sync.Mutex
	tasks map[string]*Task
	// leaving holds deleted tasks whose shim is still finishing (the
	// runtime's delete) and whose bundle is not removed yet; closed once
	// both are done. A new task of the same id waits for it.
	leaving map[string]chan struct{}
	// prepared holds the preparations (Prepare) of tasks not created yet.
	prepared map[string]*preparation
}

// Task is one container's running (or stopped, not yet deleted) task.
type Task struct {
	NS, ID  string
	Bundle  string
	Rootfs  string
	Runtime string
	// Pid is the init process's, as its creation reported it.
	Pid  int
	shim *shim.Client
	// instance is the record's: which task of the container this is.
	instance string
	// ready is set once the task has its shim: until then Create holds its
	// id reserved, and nothing else may use it.
	ready atomic.Bool

	// deleting is set once the task's deletion began: its shim is being
	// shut down and its connection closed, which is not a shim that died.
	deleting atomic.Bool
	// settled is the init process's exit as decided once the shim was found
	// dead (settleGone).
	settleOnce sync.Once
	settled    shim.Exit
}

// gone turns a lost shim connection of a task being deleted into NotFound:
// a call racing the deletion (a kill from a pod's stop as the container's
// exit is handled) finds the task gone, as it would a moment later,
// instead of failing with Unavailable.
func (t *Task) gone(err error) error {
	if err != nil && errdefs.IsUnavailable(err) && t.deleting.Load() {
		return fmt.Errorf("task %q is being deleted: %w", t.ID, errdefs.ErrNotFound)
	}
	return err
}

// New returns a manager; Recover reconnects to running shims.
func New(ctx context.Context, cfg Config, db *badger.DB, outbox *events.Outbox, containers *container.Store) *Manager {
	m := &Manager{cfg: cfg, db: db, outbox: outbox, containers: containers, ctx: ctx, tasks: map[string]*Task{}, leaving: map[string]chan struct{}{},
		prepared: map[string]*preparation{}}
	containers.InUse = func(ns, id string) bool {
		_, ok := m.lookup(ns, id)
		return ok
	}
	containers.Deleted = m.containerDeleted
	return m
}

func taskKey(ns, id string) string { return ns + "/" + id }

func (m *Manager) lookup(ns, id string) (*Task, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tasks[taskKey(ns, id)]
	return t, ok
}

// get returns the task of the caller's namespace.
func (m *Manager) get(ctx context.Context, id string) (*Task, error) {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return nil, err
	}
	t, ok := m.lookup(ns, id)
	if !ok || !t.ready.Load() {
		return nil, fmt.Errorf("task %q: %w", id, errdefs.ErrNotFound)
	}
	return t, nil
}

// List returns the tasks of the caller's namespace.
func (m *Manager) List(ctx context.Context) ([]*Task, error) {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Task
	for _, t := range m.tasks {
		if t.NS == ns && t.ready.Load() {
			out = append(out, t)
		}
	}
	return out, nil
}

// Listed is a task with its init process's state.
type Listed struct {
	Task  *Task
	State shim.State
}

// ListStates returns the tasks of the caller's namespace with their init
// processes' states, asking the shims several at a time. Tasks being
// deleted are left out.
func (m *Manager) ListStates(ctx context.Context) ([]Listed, error) {
	ts, err := m.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Listed, len(ts))
	ok := make([]bool, len(ts))
	parallel(len(ts), shimCalls, func(i int) {
		st, err := m.StateOf(ts[i], "")
		out[i], ok[i] = Listed{Task: ts[i], State: st}, err == nil
	})
	kept := out[:0]
	for i, l := range out {
		if ok[i] {
			kept = append(kept, l)
		}
	}
	return kept, nil
}

// Count returns how many tasks ns has.
func (m *Manager) Count(ns string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, t := range m.tasks {
		if t.NS == ns {
			n++
		}
	}
	return n
}

func (m *Manager) bundle(ns, id string) string { return filepath.Join(m.cfg.StateDir, ns, id) }

func (m *Manager) socket(bundle string) string { return shim.SocketPath(m.cfg.SocketDir, bundle) }

// runtimeRoot is the state root of runtime for namespace ns.
func (m *Manager) runtimeRoot(ns, runtime string) string {
	return filepath.Join(filepath.Dir(m.cfg.RuncRoot), ociruntime.Name(runtime), ns)
}

func removeBundle(dir string) { os.RemoveAll(dir) }
