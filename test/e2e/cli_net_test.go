//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"berth.dev/test/e2e/harness"
)

// bridgeConf writes a berth-bridge conflist with a bridge name and subnet
// of the test's own, and removes the bridge afterwards.
func bridgeConf(t *testing.T) (confDir, subnet string) {
	confDir = t.TempDir()
	n := rand.Intn(250) + 2
	bridge := fmt.Sprintf("bt%d", rand.Intn(1_000_000))
	subnet = fmt.Sprintf("10.89.%d.0/24", n)
	conf := fmt.Sprintf(`{"cniVersion":"1.0.0","name":"berth-bridge","plugins":[
{"type":"bridge","bridge":%q,"isGateway":true,"ipMasq":false,"ipam":{"type":"host-local","ranges":[[{"subnet":%q}]],"dataDir":%q}},
{"type":"portmap","capabilities":{"portMappings":true}}]}`, bridge, subnet, filepath.Join(confDir, "ipam"))
	writeFile(t, filepath.Join(confDir, "10-berth-bridge.conflist"), conf)
	t.Cleanup(func() { exec.Command("ip", "link", "del", bridge).Run() })
	return confDir, subnet
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestCLIPublishPort runs a web server in a container on a CNI bridge and
// reaches it from the host through -p; rm takes the mapping and the
// network namespace away again.
func TestCLIPublishPort(t *testing.T) {
	for _, dir := range []string{"/usr/lib/cni", "/opt/cni/bin"} {
		if _, err := os.Stat(filepath.Join(dir, "portmap")); err == nil {
			break
		} else if dir == "/opt/cni/bin" {
			t.Skip("CNI plugins not installed")
		}
	}
	st := harness.Start(t)
	c := newCLI(t, st)
	c.cleanup(t)
	confDir, subnet := bridgeConf(t)
	c.env = append(c.env, "BERTH_CNI_CONF_DIR="+confDir)
	img := c.importBusybox(t)
	port := freePort(t)
	c.must(t, "run", "-d", "--name", "web", "--net", "bridge", "-p", fmt.Sprintf("127.0.0.1:%d:80", port), img,
		"sh", "-c", "mkdir /www && echo served-by-berth > /www/index.html && exec busybox httpd -f -p 80 -h /www")
	if ps := c.must(t, "ps"); !strings.Contains(ps, fmt.Sprintf("127.0.0.1:%d->80/tcp", port)) {
		t.Fatalf("ps:\n%s", ps)
	}
	var body string
	waitUntil(t, "the server through the mapped port", time.Minute, func() bool {
		resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == 200
	})
	if body != "served-by-berth\n" {
		t.Fatalf("body %q", body)
	}
	// The container has an address on the bridge's subnet.
	_, ipnet, _ := net.ParseCIDR(subnet)
	out := c.must(t, "exec", "web", "sh", "-c", "ip -4 -o addr show eth0 2>/dev/null || cat /proc/net/fib_trie")
	if !strings.Contains(out, strings.TrimSuffix(ipnet.IP.String(), ".0")) {
		t.Fatalf("no address in %s: %s", subnet, out)
	}
	netns := filepath.Join(st.State, "cli", "netns", c.ns+"-web")
	if _, err := os.Stat(netns); err != nil {
		t.Fatalf("netns not pinned: %v", err)
	}
	// rm finds the conflist the container was attached with on its labels,
	// whatever the environment says now.
	c.env = c.env[:len(c.env)-1]
	c.must(t, "rm", "-f", "web")
	if _, err := os.Stat(netns); !os.IsNotExist(err) {
		t.Fatalf("netns left behind: %v", err)
	}
	if conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
		conn.Close()
		t.Fatal("the port still answers after rm")
	}

	// --net none has only loopback; --net host shares the node's.
	if out := c.must(t, "run", "--rm", img, "cat", "/proc/net/dev"); strings.Contains(out, "eth0") {
		t.Fatalf("--net none has eth0: %s", out)
	}
	// Other tests add and remove interfaces meanwhile: compare the one
	// that carries the node's default route.
	if iface := defaultRouteIface(t); iface != "" {
		if out := c.must(t, "run", "--rm", "--net", "host", img, "cat", "/proc/net/dev"); !strings.Contains(out, iface+":") {
			t.Fatalf("--net host lacks the node's %s: %s", iface, out)
		}
	}
	if res := c.run(t, nil, "run", "--rm", "-p", "1:2", img, "true"); res.code != 125 || !strings.Contains(res.stderr, "--net bridge") {
		t.Fatalf("-p without a network: %s", res)
	}
}

func defaultRouteIface(t *testing.T) string {
	data, err := os.ReadFile("/proc/net/route")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n")[1:] {
		if f := strings.Fields(line); len(f) > 2 && f[1] == "00000000" {
			return f[0]
		}
	}
	return ""
}
