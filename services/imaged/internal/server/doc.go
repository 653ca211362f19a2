// Package server holds imaged's gRPC handlers: containerd's content, images
// and leases services, and the admin answers for the gateway. Handlers
// translate; the content, image, lease and gc packages decide.
package server
