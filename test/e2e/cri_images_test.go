//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	crremote "github.com/google/go-containerregistry/pkg/v1/remote"
	"google.golang.org/grpc/codes"
	criapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	remote "k8s.io/cri-client/pkg"

	"berth.dev/test/e2e/harness"
)

// privateRegistry serves an in-process registry on loopback that wants
// basic auth, and returns host:port.
func privateRegistry(t *testing.T, user, pass string) string {
	t.Helper()
	reg := registry.New(registry.Logger(nopLog()))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="berth-e2e"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// hostsDir sends each upstream registry name to a loopback registry.
func hostsDir(t testing.TB, mirrors map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for upstream, addr := range mirrors {
		os.MkdirAll(filepath.Join(dir, upstream), 0o755)
		conf := "server = \"http://" + addr + "\"\n[host.\"http://" + addr + "\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
		if err := os.WriteFile(filepath.Join(dir, upstream, "hosts.toml"), []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func imageClient(t *testing.T, s *harness.Stack) criapi.ImageManagerService {
	t.Helper()
	is, err := remote.NewRemoteImageService(context.Background(), "unix://"+s.Socket, 30*time.Second, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	return is
}

func imageStatus(t *testing.T, is criapi.ImageManagerService, ref string) *runtimeapi.Image {
	t.Helper()
	resp, err := is.ImageStatus(context.Background(), &runtimeapi.ImageSpec{Image: ref}, false)
	if err != nil {
		t.Fatalf("ImageStatus(%s): %v", ref, err)
	}
	return resp.GetImage()
}

// TestCRIImages pulls through hosts.toml mirrors (one wanting credentials),
// looks the image up by every name it has, lists, measures and removes it,
// and sees a pull stop at its deadline.
func TestCRIImages(t *testing.T) {
	ctx := context.Background()
	public := harness.Registry(t)
	private := privateRegistry(t, "kube", "s3cret")
	bb := harness.BusyboxImage(t)
	harness.Push(t, public+"/library/busybox:1", bb)
	harness.Push(t, public+"/library/busybox:1.0", bb)
	big, err := random.Image(8<<20, 4)
	if err != nil {
		t.Fatal(err)
	}
	harness.Push(t, public+"/library/busybox:big", big)
	st := harness.Start(t, harness.WithEnv("BERTH_REGISTRY_CONFIG_PATH="+hostsDir(t, map[string]string{
		"docker.io": public, "private.example": private,
	})))
	is := imageClient(t, st)

	id, err := is.PullImage(ctx, &runtimeapi.ImageSpec{Image: "busybox:1"}, nil, nil)
	if err != nil {
		t.Fatalf("PullImage: %v", err)
	}
	cfgDigest, _ := bb.ConfigName()
	if id != cfgDigest.String() {
		t.Fatalf("PullImage returned %q, want the config digest %s", id, cfgDigest)
	}

	// Every name of the image finds the same image.
	byTag := imageStatus(t, is, "busybox:1")
	if byTag == nil || len(byTag.RepoDigests) != 1 || byTag.Size == 0 {
		t.Fatalf("status by tag: %v", byTag)
	}
	for _, ref := range []string{"docker.io/library/busybox:1", id, strings.TrimPrefix(id, "sha256:"), strings.TrimPrefix(id, "sha256:")[:12], byTag.RepoDigests[0]} {
		got := imageStatus(t, is, ref)
		if got == nil || got.Id != id || strings.Join(got.RepoTags, ",") != "docker.io/library/busybox:1" ||
			strings.Join(got.RepoDigests, ",") != byTag.RepoDigests[0] || got.Size != byTag.Size {
			t.Errorf("status by %q: %v, by tag: %v", ref, got, byTag)
		}
	}
	if got := imageStatus(t, is, "busybox:absent"); got != nil {
		t.Fatalf("status of an absent image: %v", got)
	}
	verbose, err := is.ImageStatus(ctx, &runtimeapi.ImageSpec{Image: id}, true)
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		ChainID string `json:"chainID"`
	}
	if err := json.Unmarshal([]byte(verbose.Info["info"]), &info); err != nil || !strings.HasPrefix(info.ChainID, "sha256:") {
		t.Fatalf("verbose info %q: %v", verbose.Info["info"], err)
	}

	// Recorded as containerd's CRI records images, for ctr to see.
	out := st.MustCtr(t, "-n", "k8s.io", "images", "ls")
	for _, name := range []string{"docker.io/library/busybox:1", id, byTag.RepoDigests[0]} {
		if !lineHas(out, name, "io.cri-containerd.image=managed") {
			t.Errorf("ctr images ls lacks %s:\n%s", name, out)
		}
	}

	// A second tag joins the same image.
	if id2, err := is.PullImage(ctx, &runtimeapi.ImageSpec{Image: "busybox:1.0"}, nil, nil); err != nil || id2 != id {
		t.Fatalf("second tag: %q, %v", id2, err)
	}
	list, err := is.ListImages(ctx, nil)
	if err != nil || len(list) != 1 || len(list[0].RepoTags) != 2 {
		t.Fatalf("ListImages: %v, %v", list, err)
	}
	filtered, err := is.ListImages(ctx, &runtimeapi.ImageFilter{Image: &runtimeapi.ImageSpec{Image: "busybox:1.0"}})
	if err != nil || len(filtered) != 1 || filtered[0].Id != id {
		t.Fatalf("ListImages by ref: %v, %v", filtered, err)
	}
	if none, err := is.ListImages(ctx, &runtimeapi.ImageFilter{Image: &runtimeapi.ImageSpec{Image: "absent:1"}}); err != nil || len(none) != 0 {
		t.Fatalf("ListImages of an absent ref: %v, %v", none, err)
	}

	fs, err := is.ImageFsInfo(ctx)
	if err != nil || len(fs.ImageFilesystems) == 0 {
		t.Fatalf("ImageFsInfo: %v, %v", fs, err)
	}
	for _, f := range fs.ImageFilesystems {
		if f.FsId.GetMountpoint() == "" || f.UsedBytes.GetValue() == 0 || f.InodesUsed.GetValue() == 0 {
			t.Errorf("image filesystem %v", f)
		}
	}

	// Credentials come with the request.
	_, err = is.PullImage(ctx, &runtimeapi.ImageSpec{Image: "private.example/app:1"}, nil, nil)
	if err == nil {
		t.Fatal("pull from a registry wanting credentials succeeded without them")
	}
	ref, _ := name.ParseReference(private+"/app:1", name.Insecure)
	if err := crremote.Write(ref, bb, crremote.WithAuth(&authn.Basic{Username: "kube", Password: "s3cret"})); err != nil {
		t.Fatal(err)
	}
	_, err = is.PullImage(ctx, &runtimeapi.ImageSpec{Image: "private.example/app:1"}, nil, nil)
	if err == nil {
		t.Fatal("pull from a registry wanting credentials succeeded without them")
	}
	_, err = is.PullImage(ctx, &runtimeapi.ImageSpec{Image: "private.example/app:1"}, &runtimeapi.AuthConfig{Username: "kube", Password: "wrong"}, nil)
	if err == nil {
		t.Fatal("pull with a wrong password succeeded")
	}
	auth := base64.StdEncoding.EncodeToString([]byte("kube:s3cret"))
	if got, err := is.PullImage(ctx, &runtimeapi.ImageSpec{Image: "private.example/app:1"}, &runtimeapi.AuthConfig{Auth: auth}, nil); err != nil || got != id {
		t.Fatalf("pull with credentials: %q, %v", got, err)
	}

	// A pull past its deadline stops, and imaged lets go of what it held.
	short, cancel := context.WithTimeout(ctx, time.Millisecond)
	_, err = is.PullImage(short, &runtimeapi.ImageSpec{Image: "busybox:big"}, nil, nil)
	cancel()
	wantCode(t, "pull with a 1 ms deadline", err, codes.DeadlineExceeded)
	if got := imageStatus(t, is, "busybox:big"); got != nil {
		t.Fatalf("image of a cancelled pull is there: %v", got)
	}
	eventually(t, "the cancelled pull's lease to go", func() bool {
		return !strings.Contains(st.MustCtr(t, "-n", "k8s.io", "leases", "ls"), "pull-")
	})

	// Concurrent pulls of one image (the kubelet pulls for several pods at
	// once) share its blobs and snapshots and both succeed.
	ids := make(chan string, 2)
	for range 2 {
		go func() {
			got, err := is.PullImage(ctx, &runtimeapi.ImageSpec{Image: "busybox:big"}, nil, nil)
			if err != nil {
				t.Errorf("concurrent pull: %v", err)
			}
			ids <- got
		}()
	}
	if a, b := <-ids, <-ids; a == "" || a != b {
		t.Fatalf("concurrent pulls returned %q and %q", a, b)
	}
	if err := is.RemoveImage(ctx, &runtimeapi.ImageSpec{Image: "busybox:big"}); err != nil {
		t.Fatal(err)
	}

	// Removing a tag keeps the image under its other tag; removing the id
	// removes every name.
	if err := is.RemoveImage(ctx, &runtimeapi.ImageSpec{Image: "busybox:1.0"}); err != nil {
		t.Fatal(err)
	}
	if got := imageStatus(t, is, "busybox:1.0"); got != nil {
		t.Fatalf("removed tag still resolves: %v", got)
	}
	if got := imageStatus(t, is, id); got == nil || len(got.RepoTags) != 2 {
		// busybox:1 and private.example/app:1 remain.
		t.Fatalf("image after removing one tag: %v", got)
	}
	if err := is.RemoveImage(ctx, &runtimeapi.ImageSpec{Image: id}); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{id, "busybox:1", "private.example/app:1", byTag.RepoDigests[0]} {
		if got := imageStatus(t, is, ref); got != nil {
			t.Errorf("%s resolves after removing the image: %v", ref, got)
		}
	}
	if out := st.MustCtr(t, "-n", "k8s.io", "images", "ls", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("records left after removing the image:\n%s", out)
	}
	if err := is.RemoveImage(ctx, &runtimeapi.ImageSpec{Image: "absent:1"}); err != nil {
		t.Fatalf("removing an absent image: %v", err)
	}
}

func nopLog() *log.Logger { return log.New(io.Discard, "", 0) }
