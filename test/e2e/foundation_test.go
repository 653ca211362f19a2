//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	nsapi "github.com/containerd/containerd/api/services/namespaces/v1"
	"github.com/containerd/errdefs"

	"berth.dev/pkg/grpcclient"
	"berth.dev/test/e2e/harness"
)

func TestCtrVersionAndNamespaces(t *testing.T) {
	st := harness.Start(t)
	out := st.MustCtr(t, "version")
	if !strings.Contains(out, "Server:") || !strings.Contains(out, "UUID:") {
		t.Fatalf("ctr version lacks the server part:\n%s", out)
	}
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if rev := harness.Revision(root); rev == "" {
		t.Log("not a git checkout: the stamped revision is not checked")
	} else if server := out[strings.Index(out, "Server:"):]; !lineHas(server, "Revision:", " "+rev+" ") {
		t.Fatalf("ctr version does not report revision %s (binaries built from another tree?):\n%s", rev, out)
	}
	st.MustCtr(t, "namespaces", "create", "e2e-one", "team=a")
	st.MustCtr(t, "namespaces", "label", "e2e-one", "tier=gold")
	out = st.MustCtr(t, "namespaces", "ls")
	if !lineHas(out, "e2e-one", "team=a", "tier=gold") {
		t.Fatalf("namespace labels not listed:\n%s", out)
	}
	if _, err := st.Ctr(t, "namespaces", "create", "e2e-one"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second create: %v", err)
	}
	if _, err := st.Ctr(t, "namespaces", "create", "bad..name"); err == nil || !strings.Contains(err.Error(), "invalid argument") {
		t.Fatalf("malformed name: %v", err)
	}
	// A malformed namespace on a forwarded call is refused by the daemon,
	// and creates nothing.
	for _, args := range [][]string{{"content", "ls"}, {"images", "ls"}, {"snapshots", "ls"}, {"containers", "ls"}, {"leases", "create"}} {
		if _, err := st.Ctr(t, append([]string{"-n", "bad..ns"}, args...)...); err == nil || !strings.Contains(err.Error(), "invalid argument") {
			t.Fatalf("%v in a malformed namespace: %v", args, err)
		}
	}
	if out := st.MustCtr(t, "namespaces", "ls", "-q"); strings.Contains(out, "bad") {
		t.Fatalf("a malformed namespace was created:\n%s", out)
	}
	st.MustCtr(t, "namespaces", "rm", "e2e-one")
	if out := st.MustCtr(t, "namespaces", "ls", "-q"); strings.Contains(out, "e2e-one") {
		t.Fatalf("namespace still listed after rm:\n%s", out)
	}
	// ctr treats a missing namespace as removed; the API says NotFound.
	cc, err := grpcclient.Dial(st.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	nsc := nsapi.NewNamespacesClient(cc)
	_, err = nsc.Delete(context.Background(), &nsapi.DeleteNamespaceRequest{Name: "e2e-one"})
	if !errdefs.IsNotFound(err) {
		t.Fatalf("delete of a missing namespace: %v", err)
	}
	// Get of a namespace nothing was written to yet answers with no labels,
	// as containerd does (its Go client asks before its first write), and
	// creates nothing; a name that can never exist is invalid.
	got, err := nsc.Get(context.Background(), &nsapi.GetNamespaceRequest{Name: "e2e-one"})
	if err != nil || got.GetNamespace().GetName() != "e2e-one" || len(got.GetNamespace().GetLabels()) != 0 {
		t.Fatalf("get of a namespace not created: %v %v", got, err)
	}
	if out := st.MustCtr(t, "namespaces", "ls", "-q"); strings.Contains(out, "e2e-one") {
		t.Fatalf("get created the namespace:\n%s", out)
	}
	if _, err := nsc.Get(context.Background(), &nsapi.GetNamespaceRequest{Name: "bad..name"}); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("get of a malformed name: %v", err)
	}
}

func TestCtrPluginsListsEveryDaemon(t *testing.T) {
	st := harness.Start(t)
	out := st.MustCtr(t, "plugins", "ls")
	for _, id := range []string{"namespaces", "events", "introspection", "version"} {
		if !lineHas(out, "io.containerd.grpc.v1", " "+id+" ", "ok") {
			t.Errorf("gateway plugin %s not ok:\n%s", id, out)
		}
	}
	for daemon, ids := range map[string][]string{"imaged": {"content", "images", "leases"}, "snapshotd": {"snapshots", "diff"}, "taskd": {"containers", "tasks"}} {
		if !harness.Has(t, daemon) {
			continue
		}
		for _, id := range ids {
			if !lineHas(out, "io.containerd.grpc.v1", " "+id+" ", "ok") {
				t.Errorf("%s plugin %s not ok:\n%s", daemon, id, out)
			}
		}
	}
}

func TestCtrEventsReceivesNamespaceEvents(t *testing.T) {
	st := harness.Start(t)
	lines := st.Events(t)
	// The subscription starts asynchronously: create namespaces until one
	// event arrives, then check the rest arrive in order.
	deadline := time.After(20 * time.Second)
	for i := 0; ; i++ {
		name := "ev" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
		st.MustCtr(t, "namespaces", "create", name)
		select {
		case l := <-lines:
			if !strings.Contains(l, "/namespaces/create") {
				t.Fatalf("unexpected event line %q", l)
			}
			st.MustCtr(t, "namespaces", "rm", name)
			waitLine(t, lines, "/namespaces/delete", name)
			return
		case <-deadline:
			t.Fatal("no event received")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func TestDaemonDownIsUnavailableThenRecovers(t *testing.T) {
	st := harness.Start(t)
	daemon, probe := "imaged", []string{"content", "ls"}
	if !harness.Has(t, daemon) {
		daemon, probe = "snapshotd", []string{"snapshots", "ls"}
	}
	if !harness.Has(t, daemon) {
		t.Skip("no daemon behind the gateway was built")
	}
	st.MustCtr(t, probe...)
	st.Kill(t, daemon)
	_, err := st.Ctr(t, probe...)
	if err == nil || !strings.Contains(err.Error(), daemon+" is unavailable") {
		t.Fatalf("call to a killed %s: %v", daemon, err)
	}
	// The rest keeps serving.
	st.MustCtr(t, "namespaces", "ls")
	out := st.MustCtr(t, "plugins", "ls")
	if !strings.Contains(out, "error") {
		t.Fatalf("plugins ls does not show the killed daemon as failing:\n%s", out)
	}
	st.StartDaemon(t, daemon)
	waitFor(t, 10*time.Second, func() error { _, err := st.Ctr(t, probe...); return err })
}

func lineHas(out string, parts ...string) bool {
	for _, l := range strings.Split(out, "\n") {
		ok := true
		for _, p := range parts {
			if !strings.Contains(l+" ", p) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func waitLine(t *testing.T, lines <-chan string, parts ...string) string {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("stream ended waiting for %q", parts)
			}
			if lineHas(l, parts...) {
				return l
			}
		case <-timeout:
			t.Fatalf("timed out waiting for a line with %q", parts)
		}
	}
}

func waitFor(t *testing.T, timeout time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
