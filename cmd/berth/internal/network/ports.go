package network

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	gocni "github.com/containerd/go-cni"
)

// ParsePort reads -p [hostIP:]hostPort:containerPort[/tcp|udp].
func ParsePort(s string) (gocni.PortMapping, error) {
	bad := func(why string) (gocni.PortMapping, error) {
		return gocni.PortMapping{}, fmt.Errorf("-p %q: %s (want [hostIP:]hostPort:containerPort[/tcp|udp]): %w", s, why, errdefs.ErrInvalidArgument)
	}
	spec, proto, _ := strings.Cut(s, "/")
	if proto == "" {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" && proto != "sctp" {
		return bad("protocol " + proto)
	}
	parts := strings.Split(spec, ":")
	var hostIP string
	switch len(parts) {
	case 2:
	case 3:
		hostIP = parts[0]
		if net.ParseIP(hostIP) == nil {
			return bad("host IP " + hostIP)
		}
		parts = parts[1:]
	default:
		return bad("a host port is needed")
	}
	host, err1 := strconv.ParseUint(parts[0], 10, 16)
	ctr, err2 := strconv.ParseUint(parts[1], 10, 16)
	if err1 != nil || err2 != nil || host == 0 || ctr == 0 {
		return bad("ports are numbers from 1 to 65535")
	}
	return gocni.PortMapping{HostPort: int32(host), ContainerPort: int32(ctr), Protocol: proto, HostIP: hostIP}, nil
}

// FormatPorts renders mappings the way docker's ps does.
func FormatPorts(ports []gocni.PortMapping) string {
	out := make([]string, len(ports))
	for i, p := range ports {
		ip := p.HostIP
		if ip == "" {
			ip = "0.0.0.0"
		}
		out[i] = fmt.Sprintf("%s:%d->%d/%s", ip, p.HostPort, p.ContainerPort, p.Protocol)
	}
	return strings.Join(out, ", ")
}
