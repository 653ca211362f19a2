//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os/exec"
	"testing"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"berth.dev/pkg/events"
	eventsv1 "berth.dev/proto/berth/events/v1"

	"berth.dev/test/e2e/harness"
)

// externalNATS is a JetStream server the test stops and starts, standing for
// an operator's NATS going down.
type externalNATS struct {
	t    *testing.T
	opts server.Options
	srv  *server.Server
}

func newExternalNATS(t *testing.T) *externalNATS {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	n := &externalNATS{t: t, opts: server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true}}
	n.start()
	t.Cleanup(n.stop)
	return n
}

func (n *externalNATS) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.opts.Port) }

func (n *externalNATS) start() {
	opts := n.opts
	srv, err := server.NewServer(&opts)
	if err != nil {
		n.t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		n.t.Fatal("nats not ready")
	}
	n.srv = srv
}

func (n *externalNATS) stop() {
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
		n.srv = nil
	}
}

// TestEventsSurviveExternalNATSRestart writes while NATS is down and reads
// after it is back: a subscriber that stayed connected to the gateway gets
// every event, once.
func TestEventsSurviveExternalNATSRestart(t *testing.T) {
	ext := newExternalNATS(t)
	st := harness.Start(t, harness.WithEnv("BERTH_NATS_URL="+ext.url()))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, "ctr", "--address", st.Socket, "events")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	// Wait until the subscription is live.
	waitFor(t, 20*time.Second, func() error {
		st.MustCtr(t, "namespaces", "create", "probe"+fmt.Sprint(time.Now().UnixNano()))
		select {
		case <-lines:
			return nil
		case <-time.After(300 * time.Millisecond):
			return fmt.Errorf("no event yet")
		}
	})

	ext.stop()
	st.MustCtr(t, "namespaces", "create", "while-down-1")
	st.MustCtr(t, "namespaces", "create", "while-down-2")
	ext.start()
	waitLine(t, lines, "/namespaces/create", "while-down-1")
	waitLine(t, lines, "/namespaces/create", "while-down-2")

	// Restarts do not republish what was delivered: the stream holds each
	// event once.
	st.Restart(t, "gateway", false)
	st.MustCtr(t, "namespaces", "create", "after-restart")
	waitFor(t, 20*time.Second, func() error {
		counts := streamCounts(t, ext.url())
		for _, name := range []string{"while-down-1", "while-down-2", "after-restart"} {
			if counts[name] != 1 {
				return fmt.Errorf("%s is in the stream %d times (%v)", name, counts[name], counts)
			}
		}
		return nil
	})
}

// streamCounts reads the whole event stream and counts namespace events by
// namespace name.
func streamCounts(t *testing.T, url string) map[string]int {
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := nc.JetStream()
	sub, err := js.SubscribeSync(events.SubjectAll(), nats.DeliverAll(), nats.OrderedConsumer())
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for {
		msg, err := sub.NextMsg(500 * time.Millisecond)
		if err != nil {
			return counts
		}
		env := &eventsv1.Envelope{}
		if err := proto.Unmarshal(msg.Data, env); err != nil {
			t.Fatal(err)
		}
		if env.Topic == events.TopicNamespaceCreate {
			var ev apievents.NamespaceCreate
			if err := env.Event.UnmarshalTo(&ev); err != nil {
				t.Fatal(err)
			}
			counts[ev.Name]++
		}
	}
}
