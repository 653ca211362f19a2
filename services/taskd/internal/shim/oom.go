package shim

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// oomWatcher reports the container's OOM kills, from memory.oom_control
// (cgroup v1, through an eventfd) or memory.events (cgroup v2).
type oomWatcher struct {
	count chan struct{}
}

func (s *Service) watchOOM() {
	path := CgroupDir(s.bundle)
	if path == "" {
		return
	}
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		go s.watchOOMv2(filepath.Join("/sys/fs/cgroup", path, "memory.events"))
		return
	}
	go s.watchOOMv1(filepath.Join("/sys/fs/cgroup/memory", path))
}

func (s *Service) watchOOMv1(dir string) {
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		return
	}
	defer unix.Close(efd)
	ctl, err := os.Open(filepath.Join(dir, "memory.oom_control"))
	if err != nil {
		return
	}
	defer ctl.Close()
	reg := fmt.Sprintf("%d %d", efd, ctl.Fd())
	if err := os.WriteFile(filepath.Join(dir, "cgroup.event_control"), []byte(reg), 0); err != nil {
		return
	}
	buf := make([]byte, 8)
	for {
		if _, err := unix.Read(efd, buf); err != nil {
			return
		}
		// The eventfd also fires when the cgroup is removed.
		if _, err := os.Stat(dir); err != nil {
			return
		}
		if binary.LittleEndian.Uint64(buf) > 0 {
			s.oomed()
		}
	}
}

func (s *Service) watchOOMv2(events string) {
	var last uint64
	for {
		b, err := os.ReadFile(events)
		if err != nil {
			return
		}
		if n := oomKills(b); n > last {
			last = n
			s.oomed()
		}
		select {
		case <-s.shutdown:
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func oomKills(b []byte) uint64 {
	for _, line := range bytes.Split(b, []byte("\n")) {
		if f := strings.Fields(string(line)); len(f) == 2 && f[0] == "oom_kill" {
			n, _ := strconv.ParseUint(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// oomed counts an OOM kill for WaitOOM.
func (s *Service) oomed() {
	s.mu.Lock()
	s.ooms++
	ch := s.oomCh
	s.oomCh = make(chan struct{})
	s.mu.Unlock()
	close(ch)
}

// WaitOOM blocks until the container has had more than After OOM kills and
// returns the count.
func (s *Service) WaitOOM(after int, count *int) error {
	for {
		s.mu.Lock()
		n, ch := s.ooms, s.oomCh
		s.mu.Unlock()
		if n > after {
			*count = n
			return nil
		}
		select {
		case <-ch:
		case <-s.shutdown:
			return fmt.Errorf("task deleted")
		}
	}
}
