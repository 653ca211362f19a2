package store

import (
	"context"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"golang.org/x/sync/errgroup"

	"berth.dev/pkg/store/storetest"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	return New(storetest.Open(t))
}

func TestNamesAreReserved(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	md := Metadata{Name: "web", UID: "u1", Namespace: "default"}
	if err := s.AddSandbox(ctx, &Sandbox{ID: "aaa", Name: SandboxName(md), Metadata: md}); err != nil {
		t.Fatal(err)
	}
	err := s.AddSandbox(ctx, &Sandbox{ID: "bbb", Name: SandboxName(md), Metadata: md})
	if !errdefs.IsAlreadyExists(err) {
		t.Fatalf("duplicate name: got %v, want AlreadyExists", err)
	}
	if want := `"aaa"`; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not name the holder %s", err, want)
	}
	if err := s.DeleteSandbox(ctx, "aaa"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddSandbox(ctx, &Sandbox{ID: "bbb", Name: SandboxName(md), Metadata: md}); err != nil {
		t.Fatalf("name not released: %v", err)
	}
}

func TestContainerNeedsSandbox(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	err := s.AddContainer(ctx, &Container{ID: "c1", SandboxID: "nope", Name: "x"})
	if !errdefs.IsNotFound(err) {
		t.Fatalf("got %v, want NotFound", err)
	}
}

func TestResolvePrefix(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	for _, id := range []string{"abc1", "abc2", "def"} {
		if err := s.AddSandbox(ctx, &Sandbox{ID: id, Name: id}); err != nil {
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
	ctx := context.Background()
	if err := s.AddSandbox(ctx, &Sandbox{ID: "s", Name: "s"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddContainer(ctx, &Container{ID: "c", SandboxID: "s", Name: "c", State: ContainerCreated}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateContainer(ctx, "c", func(c *Container) error { c.State = ContainerRunning; return nil }); err != nil {
		t.Fatal(err)
	}
	c, err := s.Container("c")
	if err != nil || c.State != ContainerRunning {
		t.Fatalf("state %v %v", c, err)
	}
	if _, err := s.UpdateContainer(ctx, "nope", func(*Container) error { return nil }); !errdefs.IsNotFound(err) {
		t.Fatalf("got %v", err)
	}
	if got := ContainerName(Metadata{Name: "app", Attempt: 2}, Metadata{Name: "p", Namespace: "ns", UID: "u"}); got != "k8s_app_p_ns_u_2" {
		t.Fatalf("name %q", got)
	}
}

// Exit events and CRI calls update one record at once: every update lands,
// none fails on the transactions' conflicts.
func TestConcurrentUpdatesAllLand(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if err := s.AddSandbox(ctx, &Sandbox{ID: "s", Name: "s"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddContainer(ctx, &Container{ID: "c", SandboxID: "s", Name: "c"}); err != nil {
		t.Fatal(err)
	}
	const updates = 80
	var g errgroup.Group
	for range updates {
		g.Go(func() error {
			_, err := s.UpdateContainer(ctx, "c", func(c *Container) error { c.ExitCode++; return nil })
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Container("c"); err != nil || c.ExitCode != updates {
		t.Fatalf("after %d concurrent increments the record reads %d (%v)", updates, c.ExitCode, err)
	}
}

// An update run again after a conflict starts from the record as stored,
// not from what its first run made of it: a field another update cleared
// meanwhile stays cleared.
func TestRetriedUpdateSeesTheFreshRecord(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if err := s.AddSandbox(ctx, &Sandbox{ID: "s", Name: "s"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddContainer(ctx, &Container{ID: "c", SandboxID: "s", Name: "c", Message: "stale"}); err != nil {
		t.Fatal(err)
	}
	runs := 0
	got, err := s.UpdateContainer(ctx, "c", func(c *Container) error {
		runs++
		if runs == 1 {
			// Another update commits between this run's read and its
			// write, which then conflicts.
			if _, err := s.UpdateContainer(ctx, "c", func(c *Container) error { c.Message = ""; return nil }); err != nil {
				return err
			}
		}
		c.ExitCode = 3
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if runs != 2 {
		t.Fatalf("the update ran %d times, want 2 (one conflict)", runs)
	}
	stored, err := s.Container("c")
	if err != nil {
		t.Fatal(err)
	}
	if got.Message != "" || stored.Message != "" || stored.ExitCode != 3 {
		t.Fatalf("returned %+v, stored %+v: want the message cleared and exit code 3", got, stored)
	}
}

// TestLeavingContainerIsGoneAtOnce: a container whose record's deletion
// is not committed yet is gone to readers and writers, and its name is
// free; the deletion, once committed, leaves the name's new holder alone.
func TestLeavingContainerIsGoneAtOnce(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if err := s.AddSandbox(ctx, &Sandbox{ID: "p1", Name: "pod"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddContainer(ctx, &Container{ID: "c1", SandboxID: "p1", Name: "web"}); err != nil {
		t.Fatal(err)
	}
	// Leaving, its deletion not started: what DeleteContainerLater shows
	// before the commit.
	s.leaving.Store("c1", struct{}{})
	if _, err := s.Container("c1"); !errdefs.IsNotFound(err) {
		t.Fatalf("Container of a leaving container: %v", err)
	}
	if _, err := s.ResolveContainer("c"); !errdefs.IsNotFound(err) {
		t.Fatalf("ResolveContainer of a leaving container: %v", err)
	}
	if all, err := s.Containers(); err != nil || len(all) != 0 {
		t.Fatalf("Containers: %v %v", all, err)
	}
	if _, err := s.UpdateContainer(ctx, "c1", func(*Container) error { return nil }); !errdefs.IsNotFound(err) {
		t.Fatalf("UpdateContainer of a leaving container: %v", err)
	}
	if err := s.AddContainer(ctx, &Container{ID: "c2", SandboxID: "p1", Name: "web"}); err != nil {
		t.Fatalf("the name of a leaving container is not free: %v", err)
	}

	s.DeleteContainerLater(ctx, "c1")
	s.WaitDeletes()
	if _, ok := s.leaving.Load("c1"); ok {
		t.Fatal("c1 still leaving after its deletion committed")
	}
	if _, err := s.Container("c1"); !errdefs.IsNotFound(err) {
		t.Fatalf("c1 after its deletion: %v", err)
	}
	if err := s.AddContainer(ctx, &Container{ID: "c3", SandboxID: "p1", Name: "web"}); !errdefs.IsAlreadyExists(err) {
		t.Fatalf("c1's deletion released c2's name: %v", err)
	}
}
