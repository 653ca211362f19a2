package snapshot

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/containerd/containerd/api/types"
	"github.com/containerd/errdefs"
)

// writers keeps Remove and the layer applies apart. An apply writes into a
// snapshot's directory through the mounts its client was given, not by
// key; a Remove that deleted the directory under it would see the apply
// recreate what it deleted (a single bind mount is written in place),
// leaving a directory no record knows. So an apply registers the snapshot
// directories it writes into, Remove refuses a snapshot being written, and
// an apply refuses a snapshot being removed or already gone.
type writers struct {
	mu       sync.Mutex
	active   map[string]int  // snapshot directory -> applies writing into it
	removing map[string]bool // snapshot directories Remove is deleting
}

// Writing marks the snapshots whose directories mounts write into (a bind
// mount's source, an overlay's upperdir and workdir) as being written until
// done is called. Directories outside snapshotd's root are not tracked. It
// fails with NotFound when one of them is being removed or is gone.
func (m *Manager) Writing(mounts []*types.Mount) (done func(), err error) {
	dirs := m.writtenDirs(mounts)
	w := &m.writers
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, d := range dirs {
		if w.removing[d] {
			return nil, fmt.Errorf("snapshot directory %s is being removed: %w", d, errdefs.ErrNotFound)
		}
		if _, err := os.Stat(d); err != nil {
			return nil, fmt.Errorf("snapshot directory %s: %v: %w", d, err, errdefs.ErrNotFound)
		}
	}
	if w.active == nil {
		w.active = map[string]int{}
	}
	for _, d := range dirs {
		w.active[d]++
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			w.mu.Lock()
			defer w.mu.Unlock()
			for _, d := range dirs {
				if w.active[d]--; w.active[d] <= 0 {
					delete(w.active, d)
				}
			}
		})
	}, nil
}

// startRemove marks dir as being removed, or fails with
// FailedPrecondition while an apply writes into it.
func (w *writers) startRemove(key, dir string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.active[dir] > 0 {
		return fmt.Errorf("snapshot %q: a layer is being applied into it: %w", key, errdefs.ErrFailedPrecondition)
	}
	if w.removing == nil {
		w.removing = map[string]bool{}
	}
	w.removing[dir] = true
	return nil
}

func (w *writers) endRemove(dir string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.removing, dir)
}

// writtenDirs returns the snapshot directories (root/<snapshotter>/<id>)
// that mounts write into.
func (m *Manager) writtenDirs(mounts []*types.Mount) []string {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		rel, err := filepath.Rel(m.root, filepath.Clean(p))
		if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
			return
		}
		parts := strings.SplitN(rel, string(filepath.Separator), 3)
		if len(parts) < 2 {
			return
		}
		d := filepath.Join(m.root, parts[0], parts[1])
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	for _, mt := range mounts {
		if mt.Type == "bind" || mt.Type == "rbind" {
			add(mt.Source)
		}
		for _, o := range mt.Options {
			for _, p := range []string{"upperdir=", "workdir="} {
				if v, ok := strings.CutPrefix(o, p); ok {
					add(v)
				}
			}
		}
	}
	return out
}
