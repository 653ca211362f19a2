// Package lease reads the lease a request writes under. containerd clients
// send it in the gRPC metadata key "containerd-lease"; resources created
// under it are protected from garbage collection until the lease ends.
package lease
