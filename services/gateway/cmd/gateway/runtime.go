package gateway

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"berth.dev/pkg/config"
	"berth.dev/pkg/daemon"
	"berth.dev/pkg/imagedclient"
	"berth.dev/pkg/snapshotdclient"
	"berth.dev/pkg/taskdclient"
	"berth.dev/services/gateway/internal/cri"
	"berth.dev/services/gateway/internal/cri/cni"
	"berth.dev/services/gateway/internal/cri/store"
)

// CRIConfig configures the Kubernetes CRI the gateway serves.
type CRIConfig struct {
	CNIConfDir   string `env:"BERTH_CNI_CONF_DIR" envDefault:"/etc/cni/net.d" doc:"CNI network configurations; the first (by name) is the pod network"`
	CNIBinDir    string `env:"BERTH_CNI_BIN_DIR" envDefault:"/opt/cni/bin:/usr/lib/cni" doc:"colon-separated directories holding CNI plugins"`
	PauseBinary  string `env:"BERTH_PAUSE_BINARY" doc:"the built-in pause image's program (used when BERTH_SANDBOX_IMAGE cannot be had, or is berth.dev/pause:builtin); empty means berth-pause next to the gateway"`
	CgroupDriver string `env:"BERTH_CGROUP_DRIVER" envDefault:"auto" doc:"auto, systemd or cgroupfs: how pods' cgroups are named (auto: systemd on a systemd host with cgroup v2)"`
	Root         string `env:"BERTH_CRI_ROOT" doc:"per-pod files (hostname, resolv.conf, hosts, /dev/shm); empty means <root>/gateway/cri"`
	// runc passes every conformance spec here; crun 1.8 has no recursive
	// read-only mounts, which the kubelet then refuses to ask for.
	DefaultHandler string `env:"BERTH_CRI_DEFAULT_RUNTIME" envDefault:"runc" doc:"runtime handler of pods that name none: runc, crun, or empty for taskd's default (BERTH_RUNTIME_BINARY)"`
}

// runtimeService builds the CRI RuntimeService over the daemons' clients.
// It returns a function closing the clients.
func runtimeService(c config.Common, d *daemon.Daemon, cfg CRIConfig, sandboxImage string) (*cri.RuntimeService, func(), error) {
	switch cfg.CgroupDriver {
	case "", "auto", "systemd", "cgroupfs":
	default:
		return nil, nil, fmt.Errorf("BERTH_CGROUP_DRIVER %q: want auto, systemd or cgroupfs", cfg.CgroupDriver)
	}
	if !cri.KnownHandler(cfg.DefaultHandler) {
		return nil, nil, fmt.Errorf("BERTH_CRI_DEFAULT_RUNTIME %q: want one of %q", cfg.DefaultHandler, cri.Handlers())
	}
	tasks, err := taskdclient.Dial(c.Socket("taskd"))
	if err != nil {
		return nil, nil, err
	}
	snaps, err := snapshotdclient.Dial(c.Socket("snapshotd"))
	if err != nil {
		tasks.Close()
		return nil, nil, err
	}
	content, err := imagedclient.Dial(c.Socket("imaged"))
	if err != nil {
		tasks.Close()
		snaps.Close()
		return nil, nil, err
	}
	closeAll := func() { tasks.Close(); snaps.Close(); content.Close() }
	network, err := cni.New(cfg.CNIConfDir, filepath.SplitList(cfg.CNIBinDir))
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	root := cfg.Root
	if root == "" {
		root = filepath.Join(d.DataDir, "cri")
	}
	pause := cfg.PauseBinary
	if pause == "" {
		if exe, err := os.Executable(); err == nil {
			pause = filepath.Join(filepath.Dir(exe), "berth-pause")
		}
	}
	rs := cri.New(cri.Config{
		Root:           root,
		NetNSDir:       filepath.Join(c.State, "netns"),
		SandboxImage:   strings.TrimSpace(sandboxImage),
		PauseBinary:    pause,
		SystemdCgroup:  cri.DetectSystemdCgroup(cfg.CgroupDriver),
		DefaultHandler: cfg.DefaultHandler,
		Node:           d.Node,
		Release:        release,
		SnapshotsDir:   filepath.Join(c.Root, "snapshotd", "snapshots", "overlayfs"),
	}, store.New(d.DB), tasks, snaps, content, network)
	return rs, closeAll, nil
}

// criNamespace makes sure k8s.io exists, so `ctr -n k8s.io` lists pods'
// containers from the start.
func criNamespace(ctx context.Context, ensure func(context.Context, string) error) error {
	return ensure(ctx, cri.Namespace)
}
