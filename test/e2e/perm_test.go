//go:build e2e

package e2e

import (
	"bufio"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// nobody is the unprivileged user the probes run as.
const nobody = 65534

// probeSocket connects to the unix socket at path as uid/gid 65534 with no
// supplementary groups and returns what the attempt printed: "connected" or
// the errno text. perl is in every Debian (perl-base), and unlike the test
// binary it lives where nobody may execute it.
func probeSocket(t *testing.T, path string, asNobody bool) string {
	t.Helper()
	cmd := exec.Command("perl", "-MIO::Socket::UNIX", "-e",
		`IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $ARGV[0]) or do { print "$!\n"; exit 0 }; print "connected\n"`,
		path)
	if asNobody {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("probe %s: %v\n%s", path, err, out)
	}
	return strings.TrimSpace(string(out))
}

// sockets returns every unix socket file under dir.
func sockets(t *testing.T, dir string) []string {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // a bundle may vanish while we walk
		}
		if d.Type()&fs.ModeSocket != 0 {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPermissionsUnprivilegedUserReachesNoSocket starts a stack with a
// running container and, as an unprivileged user, tries every socket under
// BERTH_STATE: the node socket, each daemon's socket, the descriptor-passing
// sockets and the container's shim socket. Each must refuse with EACCES; a
// socket of our own with mode 0666 in the same directory shows the probe
// reaches the sockets at all, so the refusals come from their modes.
func TestPermissionsUnprivilegedUserReachesNoSocket(t *testing.T) {
	st := runningStack(t)
	id := "perm-" + randomHex(t, 8)
	st.MustCtr(t, "run", "-d", image, id, "sleep", "1000")

	if fi, err := os.Stat(st.Root); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("root dir %s: mode %v, %v; want 0700", st.Root, fi.Mode().Perm(), err)
	}
	if fi, err := os.Stat(st.State); err != nil || fi.Mode().Perm() != 0o711 {
		t.Fatalf("state dir %s: mode %v, %v; want 0711", st.State, fi.Mode().Perm(), err)
	}
	// The test's own temp dir is 0700; open it as far as a real
	// /run/berth's parent is, so the sockets' own modes decide.
	base := filepath.Dir(st.State)
	if err := os.Chmod(base, 0o711); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(base, 0o700) })

	control := filepath.Join(st.State, "control-"+randomHex(t, 6)+".sock")
	l, err := net.Listen("unix", control)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if err := os.Chmod(control, 0o666); err != nil {
		t.Fatal(err)
	}
	if got := probeSocket(t, control, true); got != "connected" {
		t.Fatalf("the probe cannot reach an open socket in the state dir: %s", got)
	}
	if got := probeSocket(t, st.Socket, false); got != "connected" {
		t.Fatalf("root cannot reach the node socket: %s", got)
	}

	want := map[string]bool{
		st.Socket:                false,
		st.SocketOf("imaged"):    false,
		st.SocketOf("snapshotd"): false,
		st.SocketOf("taskd"):     false,
		filepath.Join(st.State, "imaged-blobs.sock"):    false,
		filepath.Join(st.State, "snapshotd-apply.sock"): false,
	}
	shims := 0
	for _, p := range sockets(t, st.State) {
		if p == control {
			continue
		}
		if _, ok := want[p]; ok {
			want[p] = true
		}
		if strings.HasPrefix(p, filepath.Join(st.State, "s")+"/") {
			shims++
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		sys := fi.Sys().(*syscall.Stat_t)
		if sys.Uid != 0 || sys.Gid != 0 || fi.Mode().Perm()&0o007 != 0 {
			t.Errorf("%s: owner %d:%d mode %v; want root:root with no access for others", p, sys.Uid, sys.Gid, fi.Mode().Perm())
		}
		if got := probeSocket(t, p, true); got != "Permission denied" {
			t.Errorf("uid %d connecting to %s: %s; want Permission denied", nobody, p, got)
		}
	}
	for p, seen := range want {
		if !seen {
			t.Errorf("socket %s not found under the state dir", p)
		}
	}
	if shims == 0 {
		t.Errorf("no shim socket under %s/s for the running container", st.State)
	}
}

// TestPermissionsNoAbstractSocketsNorSocketsInContainers guards against
// CVE-2020-15257: abstract unix sockets ignore the filesystem, so a
// container sharing the host network namespace could reach them. No
// process running a Berth binary may listen on one, and a container sees no
// socket at all in its filesystem.
func TestPermissionsNoAbstractSocketsNorSocketsInContainers(t *testing.T) {
	st := runningStack(t)
	id := "perm-" + randomHex(t, 8)
	st.MustCtr(t, "run", "-d", image, id, "sleep", "1000")

	inodes := berthSocketInodes(t, st.Bin)
	if len(inodes) == 0 {
		t.Fatal("found no socket held by a Berth process")
	}
	f, err := os.Open("/proc/net/unix")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		// Num RefCount Protocol Flags Type St Inode Path
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 || !strings.HasPrefix(fields[7], "@") {
			continue
		}
		if who, ok := inodes[fields[6]]; ok {
			t.Errorf("%s holds abstract unix socket %s", who, fields[7])
		}
	}

	out := st.MustCtr(t, "task", "exec", "--exec-id", "find-"+randomHex(t, 6), id,
		"busybox", "find", "/", "-path", "/proc", "-prune", "-o", "-path", "/sys", "-prune", "-o", "-type", "s", "-print")
	if strings.TrimSpace(out) != "" {
		t.Fatalf("the container sees sockets:\n%s", out)
	}
}

// berthSocketInodes maps the inode of every socket a process running a
// binary from bin holds (daemons and shims) to a description of it.
func berthSocketInodes(t *testing.T, bin string) map[string]string {
	procs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range procs {
		exe, err := os.Readlink(filepath.Join(p, "exe"))
		if err != nil || !strings.HasPrefix(exe, bin+"/") {
			continue
		}
		fds, _ := os.ReadDir(filepath.Join(p, "fd"))
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(p, "fd", fd.Name()))
			if err != nil || !strings.HasPrefix(link, "socket:[") {
				continue
			}
			ino := strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")
			if _, err := strconv.ParseUint(ino, 10, 64); err == nil {
				out[ino] = fmt.Sprintf("%s (pid %s)", filepath.Base(exe), filepath.Base(p))
			}
		}
	}
	return out
}
