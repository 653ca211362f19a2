package spec

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
)

// AllCapabilities is every capability a privileged container gets (those
// the kernels Berth supports know; runc ignores unknown ones at the top).
func AllCapabilities() []string {
	return []string{
		"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
		"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
		"CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
		"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
		"CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
		"CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
		"CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
		"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
	}
}

// capabilityBits are the kernel's numbers of AllCapabilities, in order.
var capabilityBits = func() map[string]uint {
	m := map[string]uint{}
	for i, c := range AllCapabilities() {
		m[c] = uint(i)
	}
	return m
}()

// PrivilegedCapabilities are the capabilities of this process's bounding
// set (as containerd gives privileged containers its own): a capability
// the runtime itself lacks, in a nested container for one, cannot be
// granted.
func PrivilegedCapabilities() []string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return AllCapabilities()
	}
	for _, line := range strings.Split(string(b), "\n") {
		v, ok := strings.CutPrefix(line, "CapBnd:")
		if !ok {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			break
		}
		var out []string
		for _, c := range AllCapabilities() {
			if mask&(1<<capabilityBits[c]) != 0 {
				out = append(out, c)
			}
		}
		return out
	}
	return AllCapabilities()
}

// adjustCapabilities applies a CRI add/drop list to base: "ALL" adds or
// drops everything; names may omit the CAP_ prefix.
func adjustCapabilities(base, add, drop []string) ([]string, error) {
	known := map[string]bool{}
	for _, c := range AllCapabilities() {
		known[c] = true
	}
	norm := func(c string) (string, error) {
		c = strings.ToUpper(c)
		if c == "ALL" {
			return c, nil
		}
		if !strings.HasPrefix(c, "CAP_") {
			c = "CAP_" + c
		}
		if !known[c] {
			return "", fmt.Errorf("unknown capability %q: %w", c, errdefs.ErrInvalidArgument)
		}
		return c, nil
	}
	set := map[string]bool{}
	for _, c := range base {
		set[c] = true
	}
	for _, c := range add {
		n, err := norm(c)
		if err != nil {
			return nil, err
		}
		if n == "ALL" {
			for _, a := range PrivilegedCapabilities() {
				set[a] = true
			}
			continue
		}
		set[n] = true
	}
	for _, c := range drop {
		n, err := norm(c)
		if err != nil {
			return nil, err
		}
		if n == "ALL" {
			set = map[string]bool{}
			// Capabilities added explicitly survive dropping ALL, as in
			// containerd.
			for _, a := range add {
				if m, _ := norm(a); m != "ALL" {
					set[m] = true
				}
			}
			continue
		}
		delete(set, n)
	}
	var out []string
	for _, c := range AllCapabilities() {
		if set[c] {
			out = append(out, c)
		}
	}
	return out, nil
}
