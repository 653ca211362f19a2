// Package router forwards the containerd services the gateway does not serve
// itself to the daemon that owns them, as raw frames chosen by the service
// part of the full method name: the gateway never decodes those messages, so
// any client of containerd's API (and any new method) passes through.
package router
