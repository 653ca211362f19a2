package network

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/containerd/errdefs"
	gocni "github.com/containerd/go-cni"
)

func TestParsePort(t *testing.T) {
	p, err := ParsePort("127.0.0.1:8080:80/udp")
	if err != nil || p.HostIP != "127.0.0.1" || p.HostPort != 8080 || p.ContainerPort != 80 || p.Protocol != "udp" {
		t.Fatalf("%+v %v", p, err)
	}
	if p, err := ParsePort("8080:80"); err != nil || p.Protocol != "tcp" || p.HostIP != "" {
		t.Fatalf("%+v %v", p, err)
	}
	for _, bad := range []string{"80", "a:80", "0:80", "8080:80/icmp", "x.y:1:2", "70000:1"} {
		if _, err := ParsePort(bad); !errdefs.IsInvalidArgument(err) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if s := FormatPorts([]gocni.PortMapping{p, {HostPort: 1, ContainerPort: 2, Protocol: "tcp"}}); s != "127.0.0.1:8080->80/udp, 0.0.0.0:1->2/tcp" {
		t.Errorf("format %q", s)
	}
}

func TestConflistDefaultWrittenOnce(t *testing.T) {
	c := CNI{ConfDir: filepath.Join(t.TempDir(), "net.d")}
	path, err := c.conflist(BridgeNetwork)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := c.conflist(BridgeNetwork); again != path {
		t.Fatalf("second lookup %q, first %q", again, path)
	}
	os.WriteFile(filepath.Join(c.ConfDir, "10-other.conflist"), []byte(`{"name":"other","plugins":[]}`), 0o644)
	if p, err := c.conflist("other"); err != nil || filepath.Base(p) != "10-other.conflist" {
		t.Fatalf("%q %v", p, err)
	}
	if _, err := c.conflist("missing"); !errdefs.IsNotFound(err) {
		t.Fatalf("missing: %v", err)
	}
}
