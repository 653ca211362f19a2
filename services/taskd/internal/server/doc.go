// Package server holds taskd's gRPC handlers: containerd's containers and
// tasks services and the admin answers for the gateway.
package server
