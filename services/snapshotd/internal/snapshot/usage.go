package snapshot

import (
	"io/fs"
	"path/filepath"
	"syscall"
)

// usage sums the disk blocks and inodes under dir, counting hardlinks once.
func usage(dir string) (size, inodes int64) {
	seen := map[uint64]bool{}
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
			size += st.Blocks * 512
		}
		inodes++
		return nil
	})
	return size, inodes
}
