package store

import (
	"strings"
	"testing"

	"github.com/containerd/errdefs"

	"berth.dev/pkg/store/storetest"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	return New(storetest.Open(t))
}

func TestNamesAreReserved(t *testing.T) {
	s := newStore(t)
	md := Metadata{Name: "web", UID: "u1", Namespace: "default"}
	if err := s.AddSandbox(&Sandbox{ID: "aaa", Name: SandboxName(md), Metadata: md}); err != nil {
		t.Fatal(err)
	}
	err := s.AddSandbox(&Sandbox{ID: "bbb", Name: SandboxName(md), Metadata: md})
	if !errdefs.IsAlreadyExists(err) {
		t.Fatalf("duplicate name: got %v, want AlreadyExists", err)
	}
	if want := `"aaa"`; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not name the holder %s", err, want)
	}
	if err := s.DeleteSandbox("aaa"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddSandbox(&Sandbox{ID: "bbb", Name: SandboxName(md), Metadata: md}); err != nil {
		t.Fatalf("name not released: %v", err)
	}
}

func TestContainerNeedsSandbox(t *testing.T) {
	s := newStore(t)
	err := s.AddContainer(&Container{ID: "c1", SandboxID: "nope", Name: "x"})
	if !errdefs.IsNotFound(err) {
		t.Fatalf("got %v, want NotFound", err)
	}
}

func TestResolvePrefix(t *testing.T) {
	s := newStore(t)
	for _, id := range []string{"abc1", "abc2", "def"} {
		if err := s.AddSandbox(&Sandbox{ID: id, Name: id}); err != nil {
			t.Fatal(err)
		}
	}
	if sb, err := s.ResolveSandbox("de"); err != nil || sb.ID != "def" {
		t.Fatalf("resolve de: %v %v", sb, err)
	}
	if _, err := s.ResolveSandbox("abc"); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("ambiguous: got %v", err)
	}
	if _, err := s.ResolveSandbox("zzz"); !errdefs.IsNotFound(err) {
		t.Fatalf("absent: got %v", err)
	}
}

func TestUpdate(t *testing.T) {
	s := newStore(t)
	if err := s.AddSandbox(&Sandbox{ID: "s", Name: "s"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddContainer(&Container{ID: "c", SandboxID: "s", Name: "c", State: ContainerCreated}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateContainer("c", func(c *Container) error { c.State = ContainerRunning; return nil }); err != nil {
		t.Fatal(err)
	}
	c, err := s.Container("c")
	if err != nil || c.State != ContainerRunning {
		t.Fatalf("state %v %v", c, err)
	}
	if _, err := s.UpdateContainer("nope", func(*Container) error { return nil }); !errdefs.IsNotFound(err) {
		t.Fatalf("got %v", err)
	}
	if got := ContainerName(Metadata{Name: "app", Attempt: 2}, Metadata{Name: "p", Namespace: "ns", UID: "u"}); got != "k8s_app_p_ns_u_2" {
		t.Fatalf("name %q", got)
	}
}
