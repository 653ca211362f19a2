// Package events is the one door through which Berth's lifecycle events
// pass: topic names, NATS subjects and stream names (a versioned contract,
// docs/architecture.md), the outbox that records an event in the same
// badger transaction as the change it describes, the publisher that drains
// the outbox to JetStream, and Subscriber, the typed reader of one node's
// or the whole fleet's events, which Follow runs over a daemon's own bus
// connection.
package events
