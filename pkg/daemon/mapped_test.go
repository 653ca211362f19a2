package daemon

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestReleaserPagesOutOncePerQuietSpell(t *testing.T) {
	const mib = 1 << 20
	r := releaser{}
	steps := []struct {
		name   string
		allocs uint64
		files  bool
	}{
		{"quiet at start", mib / 10, true},
		{"still quiet", mib / 5, false},
		{"working", 30 * mib, false},
		{"quiet again", 30*mib + mib/10, true},
		{"quiet on", 30*mib + mib/5, false},
	}
	for _, s := range steps {
		if _, got := r.release(heapSample{allocs: s.allocs}); got != s.files {
			t.Errorf("%s: page out %v, want %v", s.name, got, s.files)
		}
	}
}

func TestSharedFileMappings(t *testing.T) {
	maps := []byte(`00400000-011d2000 r-xp 00000000 fd:01 123 /usr/bin/berth-daemon
7f65ba400000-7f65ba600000 rw-s 00000000 fd:01 456 /var/lib/berth/taskd/db/00001.mem
7f1736400000-7f1738400000 r--s 00000000 fd:01 789 /var/lib/berth/taskd/db/000001.vlog
7f65ba600000-7f65ba800000 rw-p 00000000 00:00 0
7f65bb000000-7f65bb001000 rw-s 00000000 00:01 5 /dev/zero (deleted)
7f65bb400000-7f65bb600000 r--s 00000000 fd:01 457 /var/lib/berth/taskd/db/000003.sst
7f65bc000000-7f65bc200000 rw-s 00000000 fd:01 458 /var/lib/berth/taskd/db/00002.mem
7f65bd000000-7f65bd200000 rw-p 00000000 fd:01 459 /var/lib/berth/taskd/db/00003.mem
7ffcc588d000-7ffcc58ae000 rw-p 00000000 00:00 0 [stack]
`)
	got := sharedFileMappings(maps, ".mem")
	want := []addrRange{{0x7f65ba400000, 0x7f65ba600000}, {0x7f65bc000000, 0x7f65bc200000}}
	if len(got) != len(want) {
		t.Fatalf("got %x, want %x", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("mapping %d: got %x, want %x", i, got[i], want[i])
		}
	}
}

// A memtable log's mapping written through is resident; paged out, its
// pages leave memory and the file reads back the same.
func TestPageOutMappedFilesReclaimsAndKeepsData(t *testing.T) {
	const size = 64 << 12
	dir := t.TempDir()
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		t.Fatal(err)
	}
	if fs.Type == unix.TMPFS_MAGIC {
		t.Skip("tmpfs pages have nowhere to go without swap")
	}
	path := filepath.Join(dir, "00001"+memtableLog)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(m) })
	want := bytes.Repeat([]byte("berth"), size/5)
	copy(m, want)
	if err := unix.Msync(m, unix.MS_SYNC); err != nil {
		t.Fatal(err)
	}
	if n := resident(t, m); n != size>>12 {
		t.Fatalf("%d of %d pages resident before the page-out", n, size>>12)
	}
	pageOutMappedFiles()
	if n := resident(t, m); n == size>>12 {
		t.Errorf("all %d pages still resident after the page-out", n)
	}
	if !bytes.Equal(m[:len(want)], want) {
		t.Error("mapping reads back different data")
	}
	onDisk, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(onDisk[:len(want)], want) {
		t.Error("file reads back different data")
	}
}

func resident(t *testing.T, m []byte) int {
	t.Helper()
	vec := make([]byte, (len(m)+4095)>>12)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}
