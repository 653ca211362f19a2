//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"berth.dev/pkg/bus"
	"berth.dev/pkg/events"
	"berth.dev/test/e2e/harness"
)

// TestEmbeddedNATSAdmitsOnlyTheDaemons checks a running stack's bus: a
// client without credentials is refused, and taskd's own key cannot forge
// an image event, while the stack's events still flow.
func TestEmbeddedNATSAdmitsOnlyTheDaemons(t *testing.T) {
	const node = "authtest"
	st := harness.Start(t, harness.WithEnv("BERTH_NODE_ID="+node))
	addr, err := os.ReadFile(filepath.Join(st.State, "nats.url"))
	if err != nil {
		t.Fatal(err)
	}
	url := "nats://" + strings.TrimSpace(string(addr))
	if _, err := nats.Connect(url, nats.MaxReconnects(0)); err == nil || !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Fatalf("a client without credentials: %v, want an authorization violation", err)
	}
	fi, err := os.Stat(filepath.Join(st.State, "nats"))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("credentials dir: %v %v", fi.Mode(), err)
	}

	violations := make(chan error, 4)
	auth, err := bus.EmbeddedAuth(filepath.Join(st.State, "nats"), bus.UserTaskd)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(url, append(auth, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { violations <- err }))...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := nc.Publish(events.NodeSubject(node, "default", events.TopicImageDelete), []byte("forged")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-violations:
		if !strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
			t.Fatalf("forged image event: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("taskd's key published an image event unrefused")
	}

	lines := st.Events(t)
	waitFor(t, 20*time.Second, func() error {
		st.MustCtr(t, "namespaces", "create", "auth"+strings.ReplaceAll(time.Now().Format("150405.000000"), ".", ""))
		select {
		case <-lines:
			return nil
		case <-time.After(300 * time.Millisecond):
			return os.ErrDeadlineExceeded
		}
	})
}
