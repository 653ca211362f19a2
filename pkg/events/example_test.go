package events_test

import (
	"context"
	"fmt"
	"log"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"berth.dev/pkg/events"
)

// A fleet consumer: every node's task exits in k8s.io, from a durable
// consumer the cluster keeps while the consumer is away.
func ExampleSubscriber() {
	nc, err := nats.Connect("nats://nats-1:4222,nats://nats-2:4222", nats.UserCredentials("/etc/berth/fleet.creds"))
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		log.Fatal(err)
	}
	sub, err := events.NewSubscriber(js, events.SubscribeOptions{
		Node:      events.AnyNode, // or one node's id
		Namespace: "k8s.io",
		Topics:    []string{events.TopicTaskExit},
		Filters:   []string{`event.id!=""`}, // containerd's filter syntax
		Durable:   "exit-auditor",           // empty: ephemeral, from now on
	})
	if err != nil {
		log.Fatal(err)
	}
	err = sub.Run(context.Background(), func(ev events.Event) error {
		fmt.Println(ev.Node, ev.Namespace, ev.Topic, ev.Timestamp.AsTime())
		return nil // an error asks for the event again
	})
	if err != nil {
		log.Fatal(err)
	}
}
