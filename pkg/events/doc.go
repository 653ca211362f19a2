// Package events is the one door through which Berth's lifecycle events
// pass: topic names, NATS subjects, the outbox that records an event in the
// same badger transaction as the change it describes, the publisher that
// drains the outbox to JetStream, and the reader the gateway streams from.
package events
