package diff

import (
	"archive/tar"
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// Write writes the tar of what changed from lower to upper to w.
func Write(w io.Writer, lower, upper string) error {
	tw := tar.NewWriter(w)
	changes, err := changed(lower, upper)
	if err != nil {
		return err
	}
	links := map[uint64]string{}
	for _, c := range changes {
		if err := c.write(tw, upper, links); err != nil {
			return err
		}
	}
	return tw.Close()
}

type change struct {
	path    string // relative, slash separated
	deleted bool
}

// changed lists changes sorted by path, so a directory precedes its
// contents and a whiteout sorts where its file would.
func changed(lower, upper string) ([]change, error) {
	var out []change
	err := filepath.WalkDir(upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == upper {
			return err
		}
		rel, _ := filepath.Rel(upper, p)
		ui, err := os.Lstat(p)
		if err != nil {
			return err
		}
		li, lerr := os.Lstat(filepath.Join(lower, rel))
		if lerr != nil || !same(li, ui, filepath.Join(lower, rel), p) {
			out = append(out, change{path: rel})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = filepath.WalkDir(lower, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == lower {
			return err
		}
		rel, _ := filepath.Rel(lower, p)
		if _, err := os.Lstat(filepath.Join(upper, rel)); os.IsNotExist(err) {
			out = append(out, change{path: rel, deleted: true})
			if d.IsDir() {
				return filepath.SkipDir // the whiteout covers the subtree
			}
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, err
}

// same reports whether a path is unchanged between the trees.
func same(a, b os.FileInfo, pa, pb string) bool {
	if a.Mode() != b.Mode() || a.Size() != b.Size() {
		return false
	}
	sa, sb := a.Sys().(*syscall.Stat_t), b.Sys().(*syscall.Stat_t)
	if sa.Uid != sb.Uid || sa.Gid != sb.Gid || sa.Rdev != sb.Rdev {
		return false
	}
	switch {
	case a.IsDir():
		return true
	case a.Mode()&os.ModeSymlink != 0:
		la, _ := os.Readlink(pa)
		lb, _ := os.Readlink(pb)
		return la == lb
	case a.Mode().IsRegular():
		if a.ModTime().Equal(b.ModTime()) && sa.Ino == sb.Ino && sa.Dev == sb.Dev {
			return true
		}
		return sameContent(pa, pb)
	}
	return a.ModTime().Equal(b.ModTime())
}

func sameContent(a, b string) bool {
	fa, err := os.Open(a)
	if err != nil {
		return false
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return false
	}
	defer fb.Close()
	ba, bb := make([]byte, 64<<10), make([]byte, 64<<10)
	for {
		na, ea := io.ReadFull(fa, ba)
		nb, eb := io.ReadFull(fb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return false
		}
		if ea != nil || eb != nil {
			return ea == eb || (na == 0 && nb == 0)
		}
	}
}

func (c change) write(tw *tar.Writer, upper string, links map[uint64]string) error {
	name := filepath.ToSlash(c.path)
	if c.deleted {
		dir, base := filepath.Split(name)
		return tw.WriteHeader(&tar.Header{Name: dir + ".wh." + base, Typeflag: tar.TypeReg, Mode: 0o644})
	}
	p := filepath.Join(upper, c.path)
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	link := ""
	if fi.Mode()&os.ModeSymlink != 0 {
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	hdr.Name = name
	if fi.IsDir() && !strings.HasSuffix(hdr.Name, "/") {
		hdr.Name += "/"
	}
	st := fi.Sys().(*syscall.Stat_t)
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = int(st.Uid), int(st.Gid), "", ""
	if fi.Mode().IsRegular() && st.Nlink > 1 {
		if first, ok := links[st.Ino]; ok {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			return tw.WriteHeader(hdr)
		}
		links[st.Ino] = name
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, f)
	return err
}
