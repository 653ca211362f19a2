//go:build integration

package embedded_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"berth.dev/pkg/bus"
	"berth.dev/pkg/bus/embedded"
	"berth.dev/pkg/config"
	"berth.dev/pkg/daemon"
	"berth.dev/pkg/events"
)

const node = "n1"

type stack struct {
	dir  string
	url  string
	cfg  embedded.Config
	srvr *embedded.Embedded
}

func start(t *testing.T) *stack {
	t.Helper()
	dir := t.TempDir()
	s := &stack{dir: dir, cfg: embedded.Config{
		StoreDir:    filepath.Join(dir, "store"),
		AddressFile: filepath.Join(dir, "state", "nats.url"),
		CredsDir:    filepath.Join(dir, "state", "nats"),
		Node:        node,
	}}
	e, err := embedded.Start(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	addr, err := os.ReadFile(s.cfg.AddressFile)
	if err != nil {
		t.Fatal(err)
	}
	s.url = "nats://" + strings.TrimSpace(string(addr))
	// The gateway creates the stream.
	gw := s.connect(t, bus.UserGateway)
	if _, err := gw.CreateOrUpdateStream(context.Background(), daemon.StreamConfig(node, config.Common{})); err != nil {
		t.Fatal(err)
	}
	return s
}

// connect logs in as user; errs receives the server's async errors
// (permission violations).
func (s *stack) connect(t *testing.T, user string) jetstream.JetStream {
	t.Helper()
	js, _ := s.connectErrs(t, user)
	return js
}

func (s *stack) connectErrs(t *testing.T, user string) (jetstream.JetStream, <-chan error) {
	t.Helper()
	auth, err := bus.EmbeddedAuth(s.cfg.CredsDir, user)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 16)
	nc, err := nats.Connect(s.url, append(auth, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case errs <- err:
		default:
		}
	}))...)
	if err != nil {
		t.Fatalf("%s: %v", user, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js, errs
}

func publish(js jetstream.JetStream, topic string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := js.Publish(ctx, events.NodeSubject(node, "default", topic), []byte("x"))
	return err
}

// denied runs op and waits for the server to refuse it: a permissions
// violation arrives on errs (a JetStream request refused this way would
// only time out, a core publish returns at once either way).
func denied(t *testing.T, errs <-chan error, what string, op func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- op() }()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case err := <-errs:
			if !strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
				t.Errorf("%s: server said %v, want a permissions violation", what, err)
			}
			return
		case err := <-done:
			if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) {
				t.Errorf("%s: %v, want a permissions violation", what, err)
				return
			}
		case <-timeout:
			t.Errorf("%s was not refused", what)
			return
		}
	}
}

func TestConnectionWithoutCredentialsIsRefused(t *testing.T) {
	s := start(t)
	_, err := nats.Connect(s.url, nats.MaxReconnects(0))
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Fatalf("connect without credentials: %v, want an authorization violation", err)
	}
	for _, f := range []string{s.cfg.CredsDir, bus.SeedFile(s.cfg.CredsDir, bus.UserTaskd)} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v, want no access for group and others", f, fi.Mode().Perm())
		}
	}
}

func TestDaemonsPublishOnlyTheirOwnTopics(t *testing.T) {
	s := start(t)
	published := 0
	for _, tc := range []struct {
		user    string
		allowed []string
		denied  []string
	}{
		{bus.UserImaged, []string{events.TopicImageCreate, events.TopicContentDelete}, []string{events.TopicTaskExit, events.TopicSnapshotCommit, events.TopicNamespaceCreate}},
		{bus.UserSnapshotd, []string{events.TopicSnapshotCommit}, []string{events.TopicTaskExit, events.TopicImageCreate}},
		{bus.UserTaskd, []string{events.TopicTaskExit, events.TopicContainerCreate}, []string{events.TopicImageDelete, events.TopicNamespaceDelete}},
		{bus.UserGateway, []string{events.TopicNamespaceCreate, "/anything/a-client/published"}, nil},
		{bus.UserAdmin, nil, []string{events.TopicTaskExit, events.TopicNamespaceCreate}},
	} {
		js, errs := s.connectErrs(t, tc.user)
		for _, topic := range tc.allowed {
			if err := publish(js, topic); err != nil {
				t.Errorf("%s publishing %s: %v", tc.user, topic, err)
			}
			published++
		}
		for _, topic := range tc.denied {
			denied(t, errs, tc.user+" publishing "+topic, func() error { return publish(js, topic) })
		}
	}
	// Another node's subjects are not this node's daemons' either.
	gw, errs := s.connectErrs(t, bus.UserGateway)
	denied(t, errs, "gateway of n1 publishing as n2", func() error {
		return gw.Conn().Publish(events.NodeSubject("n2", "default", events.TopicTaskExit), []byte("x"))
	})
	st, err := s.connect(t, bus.UserAdmin).Stream(context.Background(), events.NodeStream(node))
	if err != nil {
		t.Fatal(err)
	}
	if n := st.CachedInfo().State.Msgs; n != uint64(published) {
		t.Fatalf("stream holds %d events, want the %d allowed ones", n, published)
	}
}

func TestNobodyDeletesTheStream(t *testing.T) {
	s := start(t)
	for _, user := range bus.EmbeddedUsers {
		js, errs := s.connectErrs(t, user)
		denied(t, errs, user+" deleting the stream", func() error {
			return js.DeleteStream(context.Background(), events.NodeStream(node))
		})
		denied(t, errs, user+" purging the stream", func() error {
			return js.Conn().Publish("$JS.API.STREAM.PURGE."+events.NodeStream(node), nil)
		})
		denied(t, errs, user+" deleting a message", func() error {
			return js.Conn().Publish("$JS.API.STREAM.MSG.DELETE."+events.NodeStream(node), nil)
		})
		if _, err := js.Stream(context.Background(), events.NodeStream(node)); err != nil {
			t.Fatalf("%s cannot see the stream after a refused delete: %v", user, err)
		}
	}
}

func TestOnlyTheGatewayManagesTheStream(t *testing.T) {
	s := start(t)
	cfg := daemon.StreamConfig(node, config.Common{})
	cfg.MaxAge = time.Minute
	for _, user := range []string{bus.UserImaged, bus.UserSnapshotd, bus.UserTaskd, bus.UserAdmin} {
		js, errs := s.connectErrs(t, user)
		denied(t, errs, user+" updating the stream", func() error {
			_, err := js.UpdateStream(context.Background(), cfg)
			return err
		})
		denied(t, errs, user+" creating a stream", func() error {
			c := cfg
			c.Name, c.Subjects = "OTHER", []string{"other.>"}
			_, err := js.CreateStream(context.Background(), c)
			return err
		})
	}
	info, err := s.connect(t, bus.UserAdmin).Stream(context.Background(), events.NodeStream(node))
	if err != nil {
		t.Fatal(err)
	}
	if info.CachedInfo().Config.MaxAge == time.Minute {
		t.Fatal("stream config changed")
	}
}

func TestDaemonsCannotSnoop(t *testing.T) {
	s := start(t)
	js, errs := s.connectErrs(t, bus.UserImaged)
	for _, subject := range []string{bus.InboxPrefix(bus.UserTaskd) + ".>", events.NodeSubjectAll(node), ">"} {
		denied(t, errs, "imaged subscribing "+subject, func() error {
			sub, err := js.Conn().SubscribeSync(subject)
			if err != nil {
				return err
			}
			_, err = sub.NextMsg(10 * time.Second)
			return err
		})
	}
}
