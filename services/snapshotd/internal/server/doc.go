// Package server holds snapshotd's gRPC handlers: containerd's snapshots and
// diff services and the admin answers for the gateway.
package server
