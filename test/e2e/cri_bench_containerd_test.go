//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	criapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	remote "k8s.io/cri-client/pkg"

	"berth.dev/test/e2e/harness"
)

// benchPause is the sandbox image containerd is given: Berth's own pause
// program, so both runtimes run the same pause process.
const benchPause = "berth.local/pause:bench"

// containerdCRI is a containerd 2.x with its CRI, started for a benchmark
// to set Berth's figures beside.
type containerdCRI struct {
	Socket string
	RS     criapi.RuntimeService
	IS     criapi.ImageManagerService
}

// startContainerdCRI starts CONTAINERD2_BIN (containerd 2.x, with
// containerd-shim-runc-v2 and ctr beside it) on a root, state and socket
// of its own, its CRI on net's CNI configuration and registries from
// hostsDir, with busybox and the pause image imported. It returns nil, with
// a message, when CONTAINERD2_BIN is unset.
func startContainerdCRI(b *testing.B, net *criNet, hostsDir string) *containerdCRI {
	b.Helper()
	bin := os.Getenv("CONTAINERD2_BIN")
	if bin == "" {
		b.Log("CONTAINERD2_BIN is unset: containerd's side is skipped")
		return nil
	}
	binDir := filepath.Dir(bin)
	for _, f := range []string{bin, filepath.Join(binDir, "containerd-shim-runc-v2"), filepath.Join(binDir, "ctr")} {
		if _, err := os.Stat(f); err != nil {
			b.Fatalf("CONTAINERD2_BIN: %v", err)
		}
	}
	// Short: the socket path must fit in 108 bytes.
	base, err := os.MkdirTemp("/tmp", "ctrd-cri-")
	if err != nil {
		b.Fatal(err)
	}
	c := &containerdCRI{Socket: filepath.Join(base, "c.sock")}
	conf := fmt.Sprintf(`version = 3
root = %[1]q
state = %[2]q
imports = []
# NRI's socket is the host's: never share it with a system containerd.
disabled_plugins = ["io.containerd.nri.v1.nri"]
[grpc]
  address = %[3]q
[ttrpc]
  address = %[4]q
[debug]
  level = "warn"
[metrics]
  address = ""
[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
[plugins.'io.containerd.cri.v1.images'.pinned_images]
  sandbox = %[5]q
[plugins.'io.containerd.cri.v1.images'.registry]
  config_path = %[6]q
[plugins.'io.containerd.cri.v1.runtime']
  restrict_oom_score_adj = true
[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
  BinaryName = "/usr/sbin/runc"
  Root = %[7]q
[plugins.'io.containerd.cri.v1.runtime'.cni]
  bin_dirs = %[8]s
  conf_dir = %[9]q
`, filepath.Join(base, "root"), filepath.Join(base, "state"), c.Socket, c.Socket+".ttrpc", benchPause, hostsDir,
		filepath.Join(base, "state", "runc"), tomlList(strings.Split(net.BinDir+":/usr/lib/cni:/opt/cni/bin", ":")), net.ConfDir)
	if err := os.WriteFile(filepath.Join(base, "config.toml"), []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	_, done := runContainerd(b, bin, base, "containerd.log", append(harness.Environ(), "PATH="+binDir+":"+os.Getenv("PATH")))
	// Registered after the process's cleanup, so run before it.
	b.Cleanup(func() {
		if c.RS != nil {
			removeAllPods(c.RS)
		}
	})
	// Ready once the CRI answers and has loaded the CNI configuration.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c.RS == nil {
			// The client checks the API version as it is made.
			c.RS, _ = remote.NewRemoteRuntimeService(context.Background(), "unix://"+c.Socket, 30*time.Second, nil, false)
		}
		var st *runtimeapi.StatusResponse
		if c.RS != nil {
			st, err = c.RS.Status(context.Background(), false)
			if err == nil && criReady(st.GetStatus()) {
				break
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(base, "containerd.log"))
			b.Fatalf("containerd's CRI not ready: %v %v\n%s", st, err, log)
		}
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(base, "containerd.log"))
			b.Fatalf("containerd exited:\n%s", log)
		case <-time.After(50 * time.Millisecond):
		}
	}
	c.IS, err = remote.NewRemoteImageService(context.Background(), "unix://"+c.Socket, 30*time.Second, nil, false)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	harness.DockerArchive(b, filepath.Join(dir, "busybox.tar"), criBusybox, harness.BusyboxImage(b))
	harness.DockerArchive(b, filepath.Join(dir, "pause.tar"), benchPause, pauseImage(b))
	for _, tar := range []string{"busybox.tar", "pause.tar"} {
		out, err := exec.Command(filepath.Join(binDir, "ctr"), "--address", c.Socket, "-n", "k8s.io",
			"images", "import", filepath.Join(dir, tar)).CombinedOutput()
		if err != nil {
			b.Fatalf("ctr images import %s: %v: %s", tar, err, out)
		}
	}
	// The CRI learns of imported images from events: wait until it has.
	for _, ref := range []string{criBusybox, benchPause} {
		for {
			img, err := c.IS.ImageStatus(context.Background(), &runtimeapi.ImageSpec{Image: ref}, false)
			if err == nil && img.GetImage() != nil {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("containerd's CRI does not see %s: %v", ref, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return c
}

func criReady(st *runtimeapi.RuntimeStatus) bool {
	n := 0
	for _, c := range st.GetConditions() {
		if c.GetStatus() {
			n++
		}
	}
	return n == 2
}

func tomlList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// removeAllPods stops and removes every pod a runtime has.
func removeAllPods(rs criapi.RuntimeService) {
	ctx := context.Background()
	pods, _ := rs.ListPodSandbox(ctx, nil)
	for _, p := range pods {
		rs.StopPodSandbox(ctx, p.Id)
		rs.RemovePodSandbox(ctx, p.Id)
	}
}

// pauseImage is a one-layer image of Berth's berth-pause as /pause.
func pauseImage(b *testing.B) v1.Image {
	b.Helper()
	prog, err := os.ReadFile(filepath.Join(harness.Binaries(b), "berth-pause"))
	if err != nil {
		b.Skipf("berth-pause not built: %v", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "pause", Mode: 0o755, Size: int64(len(prog)), ModTime: time.Unix(1700000000, 0)})
	tw.Write(prog)
	if err := tw.Close(); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		b.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		b.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		b.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config.Entrypoint = []string{"/pause"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		b.Fatal(err)
	}
	return img
}
