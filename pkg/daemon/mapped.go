package daemon

import (
	"bufio"
	"bytes"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// pageOutMappedFiles asks the kernel to reclaim the pages of badger's
// memtable logs (*.mem), which the daemon maps shared. A memtable log is
// written through its mapping as commits come and never read back while
// the daemon runs (only a restart replays it), so after work it keeps up to
// a memtable's worth of resident pages that serve nothing; the kernel keeps
// file pages mapped until memory runs short. The value log and the tables
// are left alone: reads go through their mappings, and a page reclaimed
// would be read from disk by the next call. MADV_PAGEOUT is reclaim, not
// removal: a dirty page is written back before it is freed (or stays), the
// file is unchanged, and a later write faults the page in again. It never
// discards memory: were the range mapped anew by something else meanwhile
// (the Go heap, without swap), its pages would stay. Best effort: a kernel
// without MADV_PAGEOUT (before 5.4) or an unreadable maps file changes
// nothing.
func pageOutMappedFiles() {
	data, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return
	}
	for _, r := range sharedFileMappings(data, memtableLog) {
		_, _, _ = unix.Syscall(unix.SYS_MADVISE, r.start, r.end-r.start, unix.MADV_PAGEOUT)
	}
}

type addrRange struct{ start, end uintptr }

// memtableLog is the name ending of badger's memtable log files.
const memtableLog = ".mem"

// sharedFileMappings parses /proc/<pid>/maps for the shared mappings of
// files (a path, 's' in the permissions) whose names end in suffix.
func sharedFileMappings(maps []byte, suffix string) []addrRange {
	var out []addrRange
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		// address perms offset dev inode [path]
		f := bytes.Fields(sc.Bytes())
		if len(f) != 6 || len(f[1]) != 4 || f[1][3] != 's' || f[5][0] != '/' || !bytes.HasSuffix(f[5], []byte(suffix)) {
			continue
		}
		lo, hi, ok := bytes.Cut(f[0], []byte{'-'})
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(string(lo), 16, 64)
		end, err2 := strconv.ParseUint(string(hi), 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		out = append(out, addrRange{uintptr(start), uintptr(end)})
	}
	return out
}
