package task

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/containerd/containerd/api/types"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"berth.dev/pkg/mount"
	"berth.dev/pkg/namespace"
	"berth.dev/services/taskd/internal/ociruntime"
	"berth.dev/services/taskd/internal/shim"
)

// preparation is what a container's task needs before the runtime's
// create, made ahead (Prepare): its shim started, its bundle and spec
// written, its rootfs mounted. It is no task: nothing lists it, and the
// container's deletion undoes it.
type preparation struct {
	// done closes once the preparation is made, or failed (err).
	done   chan struct{}
	err    error
	bundle string
	choice runtimeChoice
	rootfs []*types.Mount
	// spec is the container's spec the bundle's config.json was written
	// from.
	spec []byte
	shim *shim.Client
}

// Prepare makes ahead what creating the task of container id needs before
// the runtime's create, from the container's spec and runtime options (the
// CRI sends them once it recorded the container, so that starting it waits
// for little more than the runtime). Create uses the preparation only if
// the record has the same spec and options (fits), and a DeleteContainer
// of id undoes it. The container must be recorded (NotFound otherwise): a
// preparation of an id no container has would be a shim and a mount
// nothing lists nor deletes. An id that has a task, is prepared, or whose
// previous task is still leaving is left as it is.
func (m *Manager) Prepare(ctx context.Context, id string, spec, opts *anypb.Any, rootfs []*types.Mount) error {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return err
	}
	key := taskKey(ns, id)
	m.mu.Lock()
	_, hasTask := m.tasks[key]
	_, prepared := m.prepared[key]
	_, leaving := m.leaving[key]
	if hasTask || prepared || leaving {
		m.mu.Unlock()
		return nil
	}
	p := &preparation{done: make(chan struct{}), bundle: m.bundle(ns, id), rootfs: rootfs, spec: spec.GetValue(),
		choice: runtimeOptions(m.cfg.DefaultRuntime, opts)}
	m.prepared[key] = p
	m.mu.Unlock()
	defer close(p.done)
	// Looked up once the preparation is registered: a deletion committed
	// before finds no record here, one committed after takes the
	// preparation (containerDeleted) once it is made, and undoes it.
	if _, p.err = m.containers.GetIn(ns, id); p.err == nil {
		p.err = ociruntime.Check(p.choice.Binary)
	}
	if p.err == nil {
		p.shim, p.err = m.makeBundle(ns, id, p.bundle, p.choice, spec, rootfs)
	}
	if p.err != nil {
		m.mu.Lock()
		if m.prepared[key] == p {
			delete(m.prepared, key)
		}
		m.mu.Unlock()
	}
	return p.err
}

// makeBundle starts the shim of task id, writes its bundle's spec and
// mounts its rootfs. On failure nothing is left: no shim, mount or
// directory.
func (m *Manager) makeBundle(ns, id, bundle string, choice runtimeChoice, spec *anypb.Any, rootfs []*types.Mount) (_ *shim.Client, err error) {
	dir := filepath.Join(bundle, "rootfs")
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return nil, err
	}
	// c is not the result: a failure's return sets that to nil before
	// this runs.
	var c *shim.Client
	defer func() {
		if err != nil {
			dismantle(c, bundle)
		}
	}()
	// The shim starts first and comes up (a process start, a few
	// milliseconds here) while the spec is written and the rootfs
	// mounted: it reads neither before its Create.
	c, err = shim.Launch(m.cfg.ShimBinary, shim.Config{ID: id, Bundle: bundle, Runtime: choice.Binary,
		RuntimeRoot: m.runtimeRoot(ns, choice.Binary), Socket: m.socket(bundle), Namespace: ns,
		LegacyCgroupView: ociruntime.LegacyCgroupView(choice.Binary), SystemdCgroup: choice.SystemdCgroup})
	if err != nil {
		return nil, err
	}
	if err := writeSpec(bundle, choice.Binary, spec); err != nil {
		return nil, err
	}
	if err := mount.All(rootfs, dir); err != nil {
		return nil, fmt.Errorf("mount rootfs: %w", err)
	}
	return c, nil
}

// takePrepared hands the preparation of task ns/id to its create, once it
// is made; nil if there is none.
func (m *Manager) takePrepared(ns, id string) *preparation {
	m.mu.Lock()
	p := m.prepared[taskKey(ns, id)]
	delete(m.prepared, taskKey(ns, id))
	m.mu.Unlock()
	if p == nil {
		return nil
	}
	<-p.done
	if p.err != nil {
		return nil
	}
	return p
}

// fits says whether p is what a create with choice, rootfs and spec would
// make, its shim still there.
func (p *preparation) fits(choice runtimeChoice, rootfs []*types.Mount, spec []byte) bool {
	if p.choice != choice || !bytes.Equal(p.spec, spec) || len(p.rootfs) != len(rootfs) || p.shim.Exited() {
		return false
	}
	for i := range rootfs {
		if !proto.Equal(p.rootfs[i], rootfs[i]) {
			return false
		}
	}
	return true
}

// undo removes what p made: its shim, its rootfs mount, its bundle.
func (p *preparation) undo() { dismantle(p.shim, p.bundle) }

// dismantle removes a task's bundle as a failed create or an unused
// preparation leaves it: its shim (if it has one) shut down first, which
// would otherwise wait for a Delete that never comes and may hold the
// rootfs, then the rootfs unmounted and the bundle removed.
func dismantle(c *shim.Client, bundle string) {
	if c != nil {
		c.Shutdown()
	}
	mount.UnmountAll(filepath.Join(bundle, "rootfs"))
	removeBundle(bundle)
}

// containerDeleted undoes the preparation of a deleted container (or of
// an id whose container was not found), once it is made.
func (m *Manager) containerDeleted(ns, id string) {
	if p := m.takePrepared(ns, id); p != nil {
		p.undo()
	}
}
