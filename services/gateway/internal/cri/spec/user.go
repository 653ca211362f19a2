package spec

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
)

// Rootfs finds files of an image's filesystem in a snapshot's directories,
// top layer first, without mounting it.
type Rootfs []string

// Open opens path (absolute in the container) from the first directory
// holding it.
func (r Rootfs) Open(path string) (*os.File, error) {
	for _, dir := range r {
		f, err := os.Open(filepath.Join(dir, path))
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	return nil, os.ErrNotExist
}

type passwdEntry struct {
	name     string
	uid, gid uint32
	home     string
}

// entries reads a colon-separated database; a missing file is empty.
func (r Rootfs) entries(path string) ([][]string, error) {
	f, err := r.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, strings.Split(line, ":"))
	}
	return out, sc.Err()
}

func (r Rootfs) lookupUser(match func(passwdEntry) bool) (*passwdEntry, error) {
	rows, err := r.entries("/etc/passwd")
	if err != nil {
		return nil, err
	}
	for _, f := range rows {
		if len(f) < 4 {
			continue
		}
		uid, err1 := strconv.ParseUint(f[2], 10, 32)
		gid, err2 := strconv.ParseUint(f[3], 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		e := passwdEntry{name: f[0], uid: uint32(uid), gid: uint32(gid)}
		if len(f) > 5 {
			e.home = f[5]
		}
		if match(e) {
			return &e, nil
		}
	}
	return nil, nil
}

func (r Rootfs) lookupGroup(name string) (uint32, bool, error) {
	rows, err := r.entries("/etc/group")
	if err != nil {
		return 0, false, err
	}
	for _, f := range rows {
		if len(f) >= 3 && f[0] == name {
			gid, err := strconv.ParseUint(f[2], 10, 32)
			if err == nil {
				return uint32(gid), true, nil
			}
		}
	}
	return 0, false, nil
}

// memberOf returns the groups listing user as a member.
func (r Rootfs) memberOf(user string) ([]uint32, error) {
	rows, err := r.entries("/etc/group")
	if err != nil {
		return nil, err
	}
	var out []uint32
	for _, f := range rows {
		if len(f) < 4 {
			continue
		}
		for _, m := range strings.Split(f[3], ",") {
			if m == user {
				if gid, err := strconv.ParseUint(f[2], 10, 32); err == nil {
					out = append(out, uint32(gid))
				}
			}
		}
	}
	return out, nil
}

// User is a resolved process identity.
type User struct {
	UID, GID       uint32
	AdditionalGids []uint32
	Name           string
	Home           string
}

// ResolveUser turns "user[:group]" (names or numbers, as in an image's
// config) into ids through the image's /etc/passwd and /etc/group. A
// numeric uid absent from /etc/passwd runs with gid 0, as in containerd.
func (r Rootfs) ResolveUser(spec string) (*User, error) {
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	u := &User{}
	if userPart == "" {
		userPart = "0"
	}
	if id, err := strconv.ParseUint(userPart, 10, 32); err == nil {
		u.UID = uint32(id)
		e, err := r.lookupUser(func(e passwdEntry) bool { return e.uid == u.UID })
		if err != nil {
			return nil, err
		}
		if e != nil {
			u.GID, u.Name, u.Home = e.gid, e.name, e.home
		}
	} else {
		e, err := r.lookupUser(func(e passwdEntry) bool { return e.name == userPart })
		if err != nil {
			return nil, err
		}
		if e == nil {
			return nil, fmt.Errorf("user %q not found in the image's /etc/passwd: %w", userPart, errdefs.ErrInvalidArgument)
		}
		u.UID, u.GID, u.Name, u.Home = e.uid, e.gid, e.name, e.home
	}
	if hasGroup {
		gid, err := r.ResolveGroup(groupPart)
		if err != nil {
			return nil, err
		}
		u.GID = gid
	}
	if u.Name != "" {
		gids, err := r.memberOf(u.Name)
		if err != nil {
			return nil, err
		}
		u.AdditionalGids = gids
	}
	return u, nil
}

// ResolveGroup turns a group name or number into a gid.
func (r Rootfs) ResolveGroup(g string) (uint32, error) {
	if id, err := strconv.ParseUint(g, 10, 32); err == nil {
		return uint32(id), nil
	}
	gid, ok, err := r.lookupGroup(g)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fmt.Errorf("group %q not found in the image's /etc/group: %w", g, errdefs.ErrInvalidArgument)
	}
	return gid, nil
}
