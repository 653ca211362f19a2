// Package bus connects a daemon to NATS: to external servers by URL in
// production, with the operator's credentials and TLS, or to the server the
// gateway embeds on a single machine, whose address the gateway records in
// the state dir and which admits each daemon by its own nkey (the seeds
// this package creates, root-only, in the state dir). The connection never
// gives up: daemons start and serve with NATS absent and catch up when it
// appears. What each user may do is package embedded's to say.
package bus
