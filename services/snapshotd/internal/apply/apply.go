package apply

import (
	"archive/tar"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"berth.dev/pkg/directio"
)

const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// Options tune an apply.
type Options struct {
	// Overlay writes overlay whiteouts (for an upper directory) instead of
	// deleting what a whiteout names.
	Overlay bool
	// MaxBytes bounds the uncompressed size; 0 means no bound.
	MaxBytes int64
	// AllowDevices lets a layer create character and block devices.
	AllowDevices bool
	// WriteBack starts writing files' data to disk while the layer is
	// still unpacking, for an apply a sync follows: that sync then waits
	// only for the tail instead of the whole layer.
	WriteBack bool
	// SyncFew makes a layer that wrote only regular files and directories,
	// at most SyncFew of them counting the directories above them, durable
	// before Apply returns by an fsync of each (Result.Synced); any other
	// layer is left to a sync of the filesystem by the caller. Zero never
	// syncs.
	SyncFew int
}

// Result describes an applied layer.
type Result struct {
	// DiffID is the digest of the uncompressed tar.
	DiffID digest.Digest
	Size   int64
	// Synced says the layer is on disk (Options.SyncFew).
	Synced bool
}

// Apply unpacks the (compressed) layer r into root.
func Apply(root string, r io.Reader, opts Options) (*Result, error) {
	zr, err := Decompress(r)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	var src io.Reader = zr
	if opts.MaxBytes > 0 {
		src = &limitReader{r: zr, n: opts.MaxBytes}
	}
	h := sha256.New()
	counted := &countingReader{r: io.TeeReader(src, h)}
	a := &applier{root: root, opts: opts, dirTimes: map[string]time.Time{}, written: newWritten(root, opts.SyncFew)}
	tr := tar.NewReader(counted)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, layerError(err)
		}
		if err := a.entry(hdr, tr); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errdefs.IsResourceExhausted(err) {
				err = layerError(err)
			}
			return nil, fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
	}
	// Drain trailing padding so the digest covers the whole stream.
	if _, err := io.Copy(io.Discard, counted); err != nil {
		return nil, layerError(err)
	}
	a.finish()
	synced, err := a.written.sync()
	if err != nil {
		return nil, err
	}
	return &Result{DiffID: digest.NewDigest(digest.SHA256, h), Size: counted.n, Synced: synced}, nil
}

func layerError(err error) error {
	if errdefs.IsResourceExhausted(err) {
		return err
	}
	return fmt.Errorf("read layer: %v: %w", err, errdefs.ErrInvalidArgument)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type applier struct {
	root     string
	opts     Options
	dirTimes map[string]time.Time
	written  *written
}

// resolve returns the host path for name: its parent resolved inside the
// root (symlinks followed as if root were "/"), its last element kept as is,
// so the entry replaces a symlink there instead of following it.
func (a *applier) resolve(name string) (string, error) {
	clean := filepath.Clean("/" + name)
	if clean == "/" {
		return a.root, nil
	}
	parent, err := securejoin.SecureJoin(a.root, filepath.Dir(clean))
	if err != nil {
		return "", err
	}
	return filepath.Join(parent, filepath.Base(clean)), nil
}

func (a *applier) entry(hdr *tar.Header, r io.Reader) error {
	base := filepath.Base(filepath.Clean("/" + hdr.Name))
	if strings.HasPrefix(base, whiteoutPrefix) {
		return a.whiteout(hdr.Name, base)
	}
	path, err := a.resolve(hdr.Name)
	if err != nil {
		return err
	}
	if path != a.root {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
	}
	// Anything in the way is replaced, except a directory by a directory.
	if fi, err := os.Lstat(path); err == nil && !(fi.IsDir() && hdr.Typeflag == tar.TypeDir) {
		if err := os.RemoveAll(path); err != nil {
			return err
		}
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := os.Mkdir(path, 0o755); err != nil && !os.IsExist(err) {
			return err
		}
		a.written.add(path)
	case tar.TypeReg, tar.TypeRegA:
		if err := writeFile(path, r, hdr.Size, a.opts.WriteBack); err != nil {
			return err
		}
		a.written.add(path)
	case tar.TypeSymlink:
		if err := os.Symlink(hdr.Linkname, path); err != nil {
			return err
		}
		a.written.giveUp()
	case tar.TypeLink:
		target, err := securejoin.SecureJoin(a.root, filepath.Clean("/"+hdr.Linkname))
		if err != nil {
			return err
		}
		if fi, err := os.Lstat(target); err != nil || fi.IsDir() {
			return fmt.Errorf("hardlink to %q: target missing or a directory: %w", hdr.Linkname, errdefs.ErrInvalidArgument)
		}
		// The new name and the file's link count.
		a.written.add(path)
		return os.Link(target, path)
	case tar.TypeChar, tar.TypeBlock:
		if !a.opts.AllowDevices {
			return fmt.Errorf("layer creates a device node: %w", errdefs.ErrInvalidArgument)
		}
		mode := uint32(unix.S_IFCHR)
		if hdr.Typeflag == tar.TypeBlock {
			mode = unix.S_IFBLK
		}
		if err := unix.Mknod(path, mode|uint32(hdr.Mode&0o7777), int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))); err != nil {
			return err
		}
		a.written.giveUp()
	case tar.TypeFifo:
		if err := unix.Mkfifo(path, uint32(hdr.Mode&0o7777)); err != nil {
			return err
		}
		a.written.giveUp()
	case tar.TypeXGlobalHeader:
		return nil
	default:
		return fmt.Errorf("unsupported tar entry type %q: %w", hdr.Typeflag, errdefs.ErrInvalidArgument)
	}
	return a.attributes(path, hdr)
}

// directMin is the size from which a file is written around the page
// cache (see package directio): below it the few direct writes would not
// pay for switching the file in and out of direct mode.
const directMin = directio.ChunkSize

func writeFile(path string, r io.Reader, size int64, writeBack bool) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	if size >= directMin {
		w := directio.NewWriter(f, 0)
		_, err = w.ReadFrom(r)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
	} else if writeBack {
		w := &writeBacker{f: f}
		_, err = io.Copy(w, r)
		w.flush()
	} else {
		_, err = io.Copy(f, r)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeBackChunk is how much of a file is written before its write-out to
// disk is started.
const writeBackChunk = 8 << 20

// writeBacker writes a file and starts the write-out of every chunk once
// written (sync_file_range without waiting), so a later sync finds it
// mostly on disk already. It hides os.File's ReadFrom, which would copy
// past it.
type writeBacker struct {
	f        *os.File
	off, out int64
}

func (w *writeBacker) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.out >= writeBackChunk {
		w.flush()
	}
	return n, err
}

// flush starts the write-out of what was written since the last one.
// Best effort: a filesystem that cannot leaves it to the sync.
func (w *writeBacker) flush() {
	if w.off > w.out {
		unix.SyncFileRange(int(w.f.Fd()), w.out, w.off-w.out, unix.SYNC_FILE_RANGE_WRITE)
		w.out = w.off
	}
}

// attributes sets xattrs, owner, mode (after chown, which clears setuid)
// and times.
func (a *applier) attributes(path string, hdr *tar.Header) error {
	for k, v := range hdr.PAXRecords {
		if name, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
			if err := unix.Lsetxattr(path, name, []byte(v), 0); err != nil && !errors.Is(err, unix.ENOTSUP) {
				return fmt.Errorf("xattr %s: %w", name, err)
			}
		}
	}
	if err := os.Lchown(path, hdr.Uid, hdr.Gid); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeSymlink {
		if err := unix.Chmod(path, uint32(hdr.Mode&0o7777)); err != nil {
			return err
		}
	}
	if hdr.Typeflag == tar.TypeDir {
		// Later entries change a directory's mtime: set it at the end.
		a.dirTimes[path] = hdr.ModTime
		return nil
	}
	return setTimes(path, hdr.ModTime)
}

func setTimes(path string, mtime time.Time) error {
	ts := []unix.Timespec{unix.NsecToTimespec(mtime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	return unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, unix.AT_SYMLINK_NOFOLLOW)
}

func (a *applier) finish() {
	for path, t := range a.dirTimes {
		setTimes(path, t)
	}
}
