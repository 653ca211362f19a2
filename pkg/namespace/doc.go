// Package namespace reads and validates the namespace a request runs in.
// Berth follows containerd: the namespace travels in the gRPC metadata key
// "containerd-namespace", and its name obeys containerd's rules, so a client
// written for containerd addresses Berth unchanged.
package namespace
