//go:build e2e

package e2e

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"berth.dev/pkg/grpcclient"
	"berth.dev/pkg/namespace"
	imagesv1 "berth.dev/proto/berth/images/v1"
	"berth.dev/test/e2e/harness"
)

// serverPull runs Berth's own pull through the node socket and returns the
// last progress message.
func serverPull(t testing.TB, st *harness.Stack, req *imagesv1.PullRequest) (*imagesv1.PullProgress, error) {
	cc, err := grpcclient.Dial(st.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx := namespace.WithNamespace(context.Background(), "default")
	stream, err := imagesv1.NewImagesClient(cc).Pull(ctx, req)
	if err != nil {
		return nil, err
	}
	var last *imagesv1.PullProgress
	for {
		p, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return last, nil
		}
		if err != nil {
			return last, err
		}
		last = p
	}
}

// TestServerSidePullThroughMirror pulls docker.io/library/busybox:1, which
// certs.d sends to a registry on loopback, picks the node's platform from
// an index, unpacks, and runs the result.
func TestServerSidePullThroughMirror(t *testing.T) {
	reg := harness.Registry(t)
	bb := harness.BusyboxImage(t)
	other, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: other, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "s390x"}}},
		mutate.IndexAddendum{Add: bb, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
	)
	r, _ := name.ParseReference(reg+"/library/busybox:1", name.Insecure)
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	certs := t.TempDir()
	os.MkdirAll(filepath.Join(certs, "docker.io"), 0o755)
	os.WriteFile(filepath.Join(certs, "docker.io", "hosts.toml"), []byte("server = \"https://registry-1.docker.io\"\n[host.\"http://"+reg+"\"]\n  capabilities = [\"pull\", \"resolve\"]\n"), 0o644)
	st := harness.Start(t, harness.WithEnv("BERTH_REGISTRY_CONFIG_PATH="+certs))

	last, err := serverPull(t, st, &imagesv1.PullRequest{Ref: "busybox:1"})
	if err != nil {
		t.Fatal(err)
	}
	if last.Status != "done" || last.Name != "docker.io/library/busybox:1" || len(last.Layers) != 1 || last.Layers[0].State != "unpacked" {
		t.Fatalf("final progress %v", last)
	}
	if out := st.MustCtr(t, "images", "check"); !lineHas(out, "docker.io/library/busybox:1", "complete", "true") {
		t.Fatalf("images check:\n%s", out)
	}
	if out := st.MustCtr(t, "run", "--rm", "docker.io/library/busybox:1", "sp", "echo", "server-pulled"); !strings.Contains(out, "server-pulled") {
		t.Fatalf("run printed %q", out)
	}
	// Pulling again finds everything present.
	if last, err = serverPull(t, st, &imagesv1.PullRequest{Ref: "docker.io/library/busybox:1"}); err != nil || last.Status != "done" || last.Layers[0].Offset != last.Layers[0].Size {
		t.Fatalf("second pull: %v %v", last, err)
	}

	_, err = serverPull(t, st, &imagesv1.PullRequest{Ref: "busybox:1", Platform: "linux/riscv64"})
	if !errdefs.IsNotFound(err) {
		t.Fatalf("absent platform: %v", err)
	}
	_, err = serverPull(t, st, &imagesv1.PullRequest{Ref: "Not A Ref!"})
	if !errdefs.IsInvalidArgument(err) {
		t.Fatalf("malformed reference: %v", err)
	}
	_, err = serverPull(t, st, &imagesv1.PullRequest{Ref: reg + "/library/absent:1"})
	if err == nil {
		t.Fatal("pull of an absent image succeeded")
	}
}
