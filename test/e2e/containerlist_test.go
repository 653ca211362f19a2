//go:build e2e

package e2e

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
)

// TestContainerListsSeeEveryWrite: the gateway answers container lists
// from the listing it holds while taskd says it is current; every create,
// label change and delete, and a restart of taskd, is seen by the next
// List (ctr) and ListStream (containerd's Go client).
func TestContainerListsSeeEveryWrite(t *testing.T) {
	st := runningStack(t)
	client, err := containerd.New(st.Socket, containerd.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), "default"), time.Minute)
	defer cancel()
	check := func(step, want string) {
		t.Helper()
		// Twice: the second is answered from what the gateway holds.
		for range 2 {
			if got := strings.Join(strings.Fields(st.MustCtr(t, "containers", "ls", "-q")), ","); got != want {
				t.Fatalf("%s: ctr containers ls lists %q, want %q", step, got, want)
			}
			cs, err := client.Containers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, c := range cs {
				ids = append(ids, c.ID())
			}
			sort.Strings(ids)
			if got := strings.Join(ids, ","); got != want {
				t.Fatalf("%s: ListStream lists %q, want %q", step, got, want)
			}
		}
	}
	check("none", "")
	st.MustCtr(t, "containers", "create", image, "list-b", "true")
	check("one", "list-b")
	st.MustCtr(t, "containers", "create", image, "list-a", "true")
	check("two", "list-a,list-b")

	st.MustCtr(t, "containers", "label", "list-a", "seen=yes")
	cs, err := client.Containers(ctx)
	if err != nil || len(cs) != 2 {
		t.Fatalf("listed %d: %v", len(cs), err)
	}
	// The labels as listed, not fetched again.
	if info, err := cs[0].Info(ctx, containerd.WithoutRefreshedMetadata); err != nil || info.Labels["seen"] != "yes" {
		t.Fatalf("after the label: %s is listed with %v, %v", cs[0].ID(), info.Labels, err)
	}

	st.Restart(t, "taskd", true)
	check("taskd restarted", "list-a,list-b")
	st.MustCtr(t, "containers", "rm", "list-b")
	check("one removed", "list-a")
	st.MustCtr(t, "containers", "rm", "list-a")
	check("all removed", "")
}
