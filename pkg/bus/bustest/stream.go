package bustest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"berth.dev/pkg/bus"
	"berth.dev/pkg/events"
	eventsv1 "berth.dev/proto/berth/events/v1"
)

// Envelopes reads every event in every node's stream at url, oldest first
// per node, with the subject each was published on.
func Envelopes(t testing.TB, url string, opts ...nats.Option) (envs []*eventsv1.Envelope, subjects []string) {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	names := js.StreamNames(ctx)
	for name := range names.Name() {
		if !strings.HasPrefix(name, events.StreamName+"_") {
			continue
		}
		e, s := readStream(ctx, t, js, name)
		envs, subjects = append(envs, e...), append(subjects, s...)
	}
	if err := names.Err(); err != nil {
		t.Fatal(err)
	}
	return envs, subjects
}

// EmbeddedEnvelopes is Envelopes on the embedded server of the stack whose
// state dir is state, read as its admin user.
func EmbeddedEnvelopes(t testing.TB, state string) ([]*eventsv1.Envelope, []string) {
	t.Helper()
	addr, err := os.ReadFile(filepath.Join(state, "nats.url"))
	if err != nil {
		t.Fatal(err)
	}
	auth, err := bus.EmbeddedAuth(filepath.Join(state, "nats"), bus.UserAdmin)
	if err != nil {
		t.Fatal(err)
	}
	return Envelopes(t, "nats://"+strings.TrimSpace(string(addr)), auth...)
}

func readStream(ctx context.Context, t testing.TB, js jetstream.JetStream, name string) (envs []*eventsv1.Envelope, subjects []string) {
	t.Helper()
	st, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	last := st.CachedInfo().State.LastSeq
	if last == 0 {
		return nil, nil
	}
	cons, err := js.OrderedConsumer(ctx, name, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		env := &eventsv1.Envelope{}
		if err := proto.Unmarshal(msg.Data(), env); err != nil {
			t.Fatal(err)
		}
		envs = append(envs, env)
		subjects = append(subjects, msg.Subject())
		md, err := msg.Metadata()
		if err != nil {
			t.Fatal(err)
		}
		if md.Sequence.Stream >= last {
			return envs, subjects
		}
	}
}
