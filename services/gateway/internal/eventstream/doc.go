// Package eventstream reads every daemon's events from JetStream, once, and
// fans them out to the gateway's subscribers (ctr events, the CRI adapter).
// It resumes after a NATS outage from the last event it saw, so a subscriber
// connected across the outage misses nothing.
package eventstream
