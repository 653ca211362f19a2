package cni

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/containerd/errdefs"
	gocni "github.com/containerd/go-cni"
)

// DefaultInterface is the pod's interface whose addresses are the pod's.
const DefaultInterface = "eth0"

// Network attaches and detaches pods.
type Network struct {
	confDir string
	binDirs []string

	mu  sync.Mutex
	cni gocni.CNI
}

// New returns the networks configured in confDir with plugins from binDirs.
func New(confDir string, binDirs []string) (*Network, error) {
	c, err := gocni.New(gocni.WithMinNetworkCount(2), gocni.WithPluginConfDir(confDir),
		gocni.WithPluginMaxConfNum(1), gocni.WithPluginDir(binDirs), gocni.WithInterfacePrefix("eth"))
	if err != nil {
		return nil, fmt.Errorf("cni: %w", err)
	}
	return &Network{confDir: confDir, binDirs: binDirs, cni: c}, nil
}

// load re-reads the configuration directory.
func (n *Network) load() (gocni.CNI, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.cni.Load(gocni.WithLoNetwork, gocni.WithDefaultConf); err != nil {
		return nil, fmt.Errorf("no network config in %s: %v: %w", n.confDir, err, errdefs.ErrFailedPrecondition)
	}
	return n.cni, nil
}

// Ready returns why pods cannot be networked, or nil.
func (n *Network) Ready() error {
	c, err := n.load()
	if err != nil {
		return err
	}
	return c.Status()
}

// Pod says what to attach.
type Pod struct {
	ID, Name, Namespace, UID string
	NetNS                    string
	PortMappings             []gocni.PortMapping
	Annotations              map[string]string
	CgroupParent             string
	DNS                      *gocni.DNS
}

// Result is what the pod got.
type Result struct {
	IP            string
	AdditionalIPs []string
	// Raw is the plugins' results as JSON.
	Raw []byte
}

func (p Pod) opts() []gocni.NamespaceOpts {
	opts := []gocni.NamespaceOpts{
		gocni.WithLabels(map[string]string{
			"K8S_POD_NAMESPACE":          p.Namespace,
			"K8S_POD_NAME":               p.Name,
			"K8S_POD_INFRA_CONTAINER_ID": p.ID,
			"K8S_POD_UID":                p.UID,
			"IgnoreUnknown":              "1",
		}),
		gocni.WithCapabilityPortMap(p.PortMappings),
		gocni.WithCapability("io.kubernetes.cri.pod-annotations", p.Annotations),
	}
	if p.CgroupParent != "" {
		opts = append(opts, gocni.WithCapabilityCgroupPath(p.CgroupParent))
	}
	if p.DNS != nil {
		opts = append(opts, gocni.WithCapabilityDNS(*p.DNS))
	}
	return opts
}

// Attach runs every network's ADD for the pod. On failure the caller
// must still call Detach: a plugin may have allocated before failing.
func (n *Network) Attach(ctx context.Context, p Pod) (*Result, error) {
	c, err := n.load()
	if err != nil {
		return nil, err
	}
	res, err := c.Setup(ctx, p.ID, p.NetNS, p.opts()...)
	if err != nil {
		return nil, fmt.Errorf("cni add for pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	out := &Result{}
	if cfg, ok := res.Interfaces[DefaultInterface]; ok {
		ips := sortIPs(cfg.IPConfigs)
		if len(ips) > 0 {
			out.IP, out.AdditionalIPs = ips[0], ips[1:]
		}
	}
	out.Raw, _ = json.Marshal(res.Raw())
	return out, nil
}

// sortIPs puts IPv4 addresses first, as the kubelet expects the primary IP
// to be the IPv4 one on dual-stack pods.
func sortIPs(cfgs []*gocni.IPConfig) []string {
	var v4, v6 []string
	for _, c := range cfgs {
		if c.IP == nil {
			continue
		}
		if c.IP.To4() != nil {
			v4 = append(v4, c.IP.String())
		} else {
			v6 = append(v6, c.IP.String())
		}
	}
	return append(v4, v6...)
}

// Detach runs every network's DEL for the pod: addresses are released
// and port mappings removed. A missing namespace is fine (plugins are told
// an empty path and still release their allocations).
func (n *Network) Detach(ctx context.Context, p Pod) error {
	c, err := n.load()
	if err != nil {
		// Without a configuration nothing can have been attached.
		return nil
	}
	if err := c.Remove(ctx, p.ID, p.NetNS, p.opts()...); err != nil {
		if strings.Contains(err.Error(), "no such file or directory") {
			return nil
		}
		return fmt.Errorf("cni del for pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	return nil
}
