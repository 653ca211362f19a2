package embedded

import (
	"fmt"

	"github.com/nats-io/nats-server/v2/server"

	"berth.dev/pkg/bus"
	"berth.dev/pkg/events"
)

// publishTopics are the topics each daemon records events on; a daemon may
// publish nothing else, so a compromised imaged cannot forge a /tasks/exit.
// The gateway publishes its namespaces' events and whatever clients send
// through the events API's Publish and Forward, so any topic.
var publishTopics = map[string][]string{
	bus.UserImaged:    {"/images", "/content", "/leases"},
	bus.UserSnapshotd: {"/snapshot"},
	bus.UserTaskd:     {"/containers", "/tasks"},
}

// Permissions is what user may do on node's embedded server. Everything
// not allowed is denied; in particular nobody may delete or purge the
// stream or its messages, and only the gateway may create or update it.
// hubDomain, when the server is a leaf node, is the hub's JetStream domain,
// where the gateway keeps the mirror of this node's stream.
func Permissions(user, node, hubDomain string) (*server.Permissions, error) {
	return permissions(user, node, hubDomain, bus.InboxPrefix(user))
}

// ClusterPermissions is what user of node may do on an external cluster
// that many nodes share (deploy/config/nats-cluster.conf spells them out).
func ClusterPermissions(user, node string) (*server.Permissions, error) {
	return permissions(user, node, "", bus.ExternalInboxPrefix(node, user))
}

func permissions(user, node, hubDomain, inbox string) (*server.Permissions, error) {
	stream := events.NodeStream(node)
	api := func(format string, a ...any) string { return "$JS.API." + fmt.Sprintf(format, a...) }
	pub := []string{api("STREAM.INFO.%s", stream)}
	sub := []string{inbox + ".>"}
	consume := []string{
		api("CONSUMER.CREATE.%s.>", stream),
		api("CONSUMER.DURABLE.CREATE.%s.>", stream),
		api("CONSUMER.INFO.%s.>", stream),
		api("CONSUMER.DELETE.%s.>", stream),
		api("CONSUMER.MSG.NEXT.%s.>", stream),
		api("CONSUMER.NAMES.%s", stream),
		api("CONSUMER.LIST.%s", stream),
		"$JS.ACK." + stream + ".>",
		"$JS.FC." + stream + ".>",
	}
	switch user {
	case bus.UserGateway:
		pub = append(pub, events.NodeSubjectAll(node), api("STREAM.CREATE.%s", stream), api("STREAM.UPDATE.%s", stream))
		pub = append(pub, consume...)
		if hubDomain != "" {
			hub := "$JS." + hubDomain + ".API."
			pub = append(pub, hub+"STREAM.INFO."+stream, hub+"STREAM.CREATE."+stream, hub+"STREAM.UPDATE."+stream)
		}
	case bus.UserAdmin:
		// The node's operator tools read events; they record none.
		pub = append(pub, api("INFO"), api("STREAM.NAMES"), api("STREAM.LIST"))
		pub = append(pub, consume...)
	default:
		topics, ok := publishTopics[user]
		if !ok {
			return nil, fmt.Errorf("no permissions for nats user %q", user)
		}
		for _, t := range topics {
			pub = append(pub, events.SubjectFilter(node, "", t)+".>")
		}
	}
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: pub},
		Subscribe: &server.SubjectPermission{Allow: sub},
	}, nil
}

// users returns the server's nkey users, read from the seeds in dir.
func users(dir, node, hubDomain string) ([]*server.NkeyUser, error) {
	var out []*server.NkeyUser
	for _, u := range bus.EmbeddedUsers {
		pub, err := bus.PublicKey(dir, u)
		if err != nil {
			return nil, err
		}
		perms, err := Permissions(u, node, hubDomain)
		if err != nil {
			return nil, err
		}
		out = append(out, &server.NkeyUser{Nkey: pub, Permissions: perms})
	}
	return out, nil
}
