package apply

import (
	"os"
	"path/filepath"
	"sort"

	"golang.org/x/sys/unix"
)

// written records what an apply created or changed, so that a small layer
// can be made durable by an fsync of each of those files and directories
// instead of a sync of the whole filesystem, which also writes out
// whatever else is dirty there (other containers' writes, other pulls).
// It gives up (and the caller syncs the filesystem) past its limit, and on
// any entry fsync cannot reach: a symlink, a device node or a fifo.
type written struct {
	root   string
	limit  int
	paths  map[string]bool
	gaveUp bool
}

func newWritten(root string, limit int) *written {
	if limit <= 0 {
		return &written{gaveUp: true}
	}
	return &written{root: filepath.Clean(root), limit: limit, paths: map[string]bool{}}
}

// add records path (a regular file or a directory the apply wrote) and
// every directory from it up to the root, whose entries may have changed.
func (w *written) add(path string) {
	if w.gaveUp {
		return
	}
	for p := filepath.Clean(path); ; p = filepath.Dir(p) {
		if w.paths[p] {
			break
		}
		if len(w.paths) == w.limit {
			w.giveUp()
			return
		}
		w.paths[p] = true
		if p == w.root || len(p) <= len(w.root) {
			break
		}
	}
}

func (w *written) giveUp() { w.gaveUp, w.paths = true, nil }

// sync fsyncs what was recorded, files before the directories naming them
// and deeper directories first, and reports whether it did: false when it
// gave up, leaving the sync to the caller. Paths the layer removed again
// are skipped.
func (w *written) sync() (bool, error) {
	if w.gaveUp {
		return false, nil
	}
	paths := make([]string, 0, len(w.paths))
	for p := range w.paths {
		paths = append(paths, p)
	}
	// Longer paths first: a directory comes after everything below it.
	sort.Slice(paths, func(i, j int) bool { return len(paths[i]) > len(paths[j]) })
	for _, p := range paths {
		if err := syncPath(p); err != nil {
			return false, err
		}
	}
	return true, nil
}

// syncPath is fsyncPath; tests watch it.
var syncPath = fsyncPath

// fsyncPath fsyncs a regular file or directory. The apply created no
// symlink (it gives up on one), so no path here leads out of the root;
// O_NOFOLLOW and O_NONBLOCK keep a path some later entry replaced from
// being followed or blocking, and what is neither file nor directory is
// left alone.
func fsyncPath(p string) error {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err == unix.ENOENT || err == unix.ELOOP {
		return nil
	}
	if err != nil {
		return &os.PathError{Op: "open", Path: p, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &os.PathError{Op: "stat", Path: p, Err: err}
	}
	if m := st.Mode & unix.S_IFMT; m != unix.S_IFREG && m != unix.S_IFDIR {
		return nil
	}
	if err := unix.Fsync(fd); err != nil {
		return &os.PathError{Op: "fsync", Path: p, Err: err}
	}
	return nil
}
