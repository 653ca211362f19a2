package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/containerd/containerd/v2/pkg/oci"
	gocni "github.com/containerd/go-cni"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth.dev/cmd/berth/internal/network"
)

// netState is a container's network as run set it up.
type netState struct {
	mode  string // none, host, or a CNI network name
	netns string
	ports []gocni.PortMapping
	id    string // the CNI container id: namespace-id
	conf  string // the conflist attached with
	cni   network.CNI
}

func netnsPath(g *globals, id string) string {
	return filepath.Join(g.stateDir(), "cli", "netns", g.namespace+"-"+id)
}

// setupNetwork creates what --net asks for and records it in labels.
func setupNetwork(ctx context.Context, g *globals, f *runFlags, id string, labels map[string]string) (*netState, error) {
	n := &netState{mode: f.network, id: g.namespace + "-" + id, cni: network.FromEnv()}
	if f.network == "bridge" {
		n.mode = network.BridgeNetwork
	}
	for _, p := range f.ports {
		pm, err := network.ParsePort(p)
		if err != nil {
			return nil, usageError{err}
		}
		n.ports = append(n.ports, pm)
	}
	labels[labelNet] = n.mode
	switch n.mode {
	case "none", "host":
		if len(n.ports) > 0 {
			return nil, invalid("-p needs --net bridge (or another CNI network); with --net %s there is nothing to map", n.mode)
		}
		return n, nil
	case "":
		return nil, invalid("--net is empty")
	}
	conf, err := n.cni.Conflist(n.mode)
	if err != nil {
		return nil, err
	}
	n.conf = conf
	n.netns = netnsPath(g, id)
	if err := network.NewNetns(n.netns); err != nil {
		return nil, err
	}
	g.debugf("CNI ADD %s for %s in %s (%s)", n.mode, id, n.netns, conf)
	ip, err := n.cni.Attach(ctx, conf, n.id, n.netns, n.ports)
	if err != nil {
		// A plugin that failed half way may hold an address or rules.
		n.teardown(ctx)
		return nil, err
	}
	labels[labelNetns] = n.netns
	labels[labelCNIConf] = conf
	labels[labelIP] = ip
	if len(n.ports) > 0 {
		data, _ := json.Marshal(n.ports)
		labels[labelPorts] = string(data)
	}
	return n, nil
}

func (n *netState) specOptions() []oci.SpecOpts {
	switch {
	case n.mode == "host":
		return []oci.SpecOpts{oci.WithHostNamespace(specs.NetworkNamespace), oci.WithHostHostsFile, oci.WithHostResolvconf}
	case n.netns != "":
		return []oci.SpecOpts{oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: n.netns}), oci.WithHostResolvconf}
	}
	return nil
}

// teardown undoes setupNetwork.
func (n *netState) teardown(ctx context.Context) error {
	if n == nil || n.netns == "" {
		return nil
	}
	err := n.cni.Detach(ctx, n.conf, n.id, n.netns, n.ports)
	if rerr := network.RemoveNetns(n.netns); err == nil {
		err = rerr
	}
	return err
}

// netFromLabels recovers what setupNetwork recorded on a container.
func netFromLabels(g *globals, id string, labels map[string]string) (*netState, error) {
	n := &netState{mode: labels[labelNet], netns: labels[labelNetns], conf: labels[labelCNIConf], id: g.namespace + "-" + id, cni: network.FromEnv()}
	if p := labels[labelPorts]; p != "" {
		if err := json.Unmarshal([]byte(p), &n.ports); err != nil {
			return nil, fmt.Errorf("label %s: %w", labelPorts, err)
		}
	}
	return n, nil
}
