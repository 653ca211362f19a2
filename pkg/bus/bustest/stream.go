package bustest

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	eventsv1 "berth.dev/proto/berth/events/v1"
)

// Envelopes reads every event in the stream at url, oldest first, with the
// subject each was published on.
func Envelopes(t testing.TB, url string) (envs []*eventsv1.Envelope, subjects []string) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	sub, err := js.SubscribeSync("berth.events.>", nats.DeliverAll(), nats.OrderedConsumer())
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	for {
		msg, err := sub.NextMsg(500 * time.Millisecond)
		if err != nil {
			return envs, subjects
		}
		env := &eventsv1.Envelope{}
		if err := proto.Unmarshal(msg.Data, env); err != nil {
			t.Fatal(err)
		}
		envs = append(envs, env)
		subjects = append(subjects, msg.Subject)
	}
}
