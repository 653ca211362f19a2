// Package server holds the gRPC handlers of the services the gateway serves
// itself: containerd's namespaces, version, introspection and events. They
// translate requests into calls on the gateway's domain packages.
package server
