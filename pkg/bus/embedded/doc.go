// Package embedded runs the NATS server the gateway embeds when no external
// NATS is configured. It is apart from package bus so that only the gateway
// links the server.
package embedded
