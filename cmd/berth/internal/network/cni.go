package network

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/errdefs"
	gocni "github.com/containerd/go-cni"
)

// BridgeNetwork is the conflist name --net bridge attaches to.
const BridgeNetwork = "berth-bridge"

// DefaultBridge is written to the conf directory when no conflist names
// BridgeNetwork: a bridge with NAT and port mappings.
const DefaultBridge = `{
  "cniVersion": "1.0.0",
  "name": "berth-bridge",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "berth0",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.87.0.0/16"}]], "routes": [{"dst": "0.0.0.0/0"}]}
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`

// CNI is where conflists and plugins live.
type CNI struct {
	ConfDir string
	BinDirs []string
}

// FromEnv reads BERTH_CNI_CONF_DIR and BERTH_CNI_BIN_DIR (colon separated),
// defaulting to the directories the CRI uses.
func FromEnv() CNI {
	c := CNI{ConfDir: "/etc/cni/net.d", BinDirs: []string{"/opt/cni/bin", "/usr/lib/cni"}}
	if d := os.Getenv("BERTH_CNI_CONF_DIR"); d != "" {
		c.ConfDir = d
	}
	if d := os.Getenv("BERTH_CNI_BIN_DIR"); d != "" {
		c.BinDirs = filepath.SplitList(d)
	}
	return c
}

// conflist finds the conflist naming network, writing the default bridge
// when network is BridgeNetwork and none exists.
func (c CNI) conflist(network string) (string, error) {
	entries, _ := os.ReadDir(c.ConfDir)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".conflist") {
			continue
		}
		path := filepath.Join(c.ConfDir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		var head struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(data, &head) == nil && head.Name == network {
			return path, nil
		}
	}
	if network != BridgeNetwork {
		return "", fmt.Errorf("no CNI conflist named %q in %s: %w", network, c.ConfDir, errdefs.ErrNotFound)
	}
	if err := os.MkdirAll(c.ConfDir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(c.ConfDir, "90-berth-bridge.conflist")
	if err := os.WriteFile(path, []byte(DefaultBridge), 0o644); err != nil {
		return "", err
	}
	return path, nil
}

// Conflist returns the file defining network, writing the default bridge
// when it is BridgeNetwork and missing.
func (c CNI) Conflist(network string) (string, error) { return c.conflist(network) }

func (c CNI) load(path string) (gocni.CNI, error) {
	l, err := gocni.New(gocni.WithPluginConfDir(c.ConfDir), gocni.WithPluginDir(c.BinDirs), gocni.WithInterfacePrefix("eth"))
	if err != nil {
		return nil, err
	}
	if err := l.Load(gocni.WithLoNetwork, gocni.WithConfListFile(path)); err != nil {
		return nil, fmt.Errorf("load CNI conflist %s: %w", path, err)
	}
	return l, nil
}

// Attach runs CNI ADD, with the conflist at conf, for the container id in
// the namespace at netns and returns the container's address.
func (c CNI) Attach(ctx context.Context, conf, id, netns string, ports []gocni.PortMapping) (string, error) {
	l, err := c.load(conf)
	if err != nil {
		return "", err
	}
	res, err := l.Setup(ctx, id, netns, gocni.WithCapabilityPortMap(ports))
	if err != nil {
		return "", fmt.Errorf("CNI %s: %w (plugins looked up in %s)", conf, err, strings.Join(c.BinDirs, ":"))
	}
	for name, iface := range res.Interfaces {
		if name == "lo" {
			continue
		}
		for _, ipc := range iface.IPConfigs {
			if ipc.IP.To4() != nil {
				return ipc.IP.String(), nil
			}
		}
	}
	return "", nil
}

// Detach runs CNI DEL with the conflist and mappings given at Attach.
func (c CNI) Detach(ctx context.Context, conf, id, netns string, ports []gocni.PortMapping) error {
	l, err := c.load(conf)
	if err != nil {
		return err
	}
	return l.Remove(ctx, id, netns, gocni.WithCapabilityPortMap(ports))
}
