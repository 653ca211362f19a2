package cri

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// sandboxDir holds the files a pod's containers share.
func (s *RuntimeService) sandboxDir(id string) string { return filepath.Join(s.Root, "sandboxes", id) }

func shmDir(dir string) string { return filepath.Join(dir, "shm") }

// writeSandboxFiles writes hostname, hosts and resolv.conf, and mounts the
// pod's /dev/shm unless it shares the host's IPC namespace.
func writeSandboxFiles(dir string, cfg *runtimeapi.PodSandboxConfig) error {
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return err
	}
	hostname := cfg.GetHostname()
	nsOpts := cfg.GetLinux().GetSecurityContext().GetNamespaceOptions()
	if nsOpts.GetNetwork() == runtimeapi.NamespaceMode_NODE || hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			return err
		}
		if hostname == "" || nsOpts.GetNetwork() == runtimeapi.NamespaceMode_NODE {
			hostname = h
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "hostname"), []byte(hostname+"\n"), 0o644); err != nil {
		return err
	}
	hosts, err := os.ReadFile("/etc/hosts")
	if err != nil {
		hosts = []byte("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "hosts"), hosts, 0o644); err != nil {
		return err
	}
	resolv, err := resolvConf(cfg.GetDnsConfig())
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "resolv.conf"), resolv, 0o644); err != nil {
		return err
	}
	if nsOpts.GetIpc() == runtimeapi.NamespaceMode_NODE {
		return nil
	}
	shm := shmDir(dir)
	if err := os.MkdirAll(shm, 0o700); err != nil {
		return err
	}
	if err := unix.Mount("shm", shm, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size=65536k"); err != nil {
		return fmt.Errorf("mount pod /dev/shm: %w", err)
	}
	return nil
}

// resolvConf is the pod's resolv.conf: the CRI DNS config, or the host's.
func resolvConf(dns *runtimeapi.DNSConfig) ([]byte, error) {
	if dns == nil || (len(dns.Servers) == 0 && len(dns.Searches) == 0 && len(dns.Options) == 0) {
		b, err := os.ReadFile("/etc/resolv.conf")
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return b, err
	}
	var b strings.Builder
	for _, srv := range dns.Servers {
		if strings.ContainsAny(srv, " \n") {
			return nil, fmt.Errorf("dns server %q: %w", srv, errdefs.ErrInvalidArgument)
		}
		fmt.Fprintf(&b, "nameserver %s\n", srv)
	}
	if len(dns.Searches) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(dns.Searches, " "))
	}
	if len(dns.Options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(dns.Options, " "))
	}
	return []byte(b.String()), nil
}

// removeSandboxFiles unmounts /dev/shm and deletes the directory; absent
// ones are fine.
func removeSandboxFiles(dir string) error {
	if err := unix.Unmount(shmDir(dir), unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount pod /dev/shm: %w", err)
	}
	return os.RemoveAll(dir)
}

// unmountShm releases the pod's /dev/shm when it stops.
func unmountShm(dir string) {
	unix.Unmount(shmDir(dir), unix.MNT_DETACH)
}
