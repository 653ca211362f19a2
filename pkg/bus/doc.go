// Package bus connects a daemon to NATS: to external servers by URL in
// production, or to the server the gateway embeds on a single machine, whose
// address the gateway records in the state dir. The connection never gives
// up: daemons start and serve with NATS absent and catch up when it appears.
package bus
