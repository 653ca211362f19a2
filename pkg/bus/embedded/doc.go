// Package embedded runs the NATS server the gateway embeds when no external
// NATS is configured: loopback only, admitting only the daemons' nkeys,
// each with the permissions of its role (Permissions), and, with a hub
// configured, as a leaf node that keeps the node's stream locally and a
// mirror of it in the hub. It is apart from package bus so that only the
// gateway links the server.
package embedded
