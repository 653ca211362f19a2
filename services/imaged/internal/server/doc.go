// Package server holds imaged's gRPC handlers: containerd's content,
// images, leases, transfer and streaming services, and the admin answers
// for the gateway. Handlers translate; the content, image, lease, gc,
// pull and transfer packages decide.
package server
