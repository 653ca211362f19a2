// Package router forwards the containerd services the gateway does not serve
// itself to the daemon that owns them, as raw frames chosen by the service
// part of the full method name: the gateway never decodes those messages, so
// any client of containerd's API (and any new method) passes through.
// Methods the linked protobuf descriptors call unary, or one request with a
// stream of answers, are forwarded as such, without a second goroutine and
// with the answer's header sent along with it; everything else (client and
// bidirectional streams, unknown methods) as a bidirectional stream.
package router
