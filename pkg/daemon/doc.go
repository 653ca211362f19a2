// Package daemon is the frame every Berth daemon runs in: configuration,
// logger, badger store, outbox and its publisher, NATS connection, signal
// handling, the gRPC socket, the metrics endpoint and giving memory back
// once idle (memory.go), all owned by one errgroup whose context SIGTERM
// cancels. A daemon's main only wires its services into it.
package daemon
