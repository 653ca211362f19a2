// Package fdsocket passes open files between Berth's daemons on one node:
// a JSON message and at most one descriptor (SCM_RIGHTS) in a single
// write on a unix socket. Layers and blobs travel this way instead of as
// gRPC frames: the receiver reads the file (or pipe) itself, with no copy
// through the socket.
package fdsocket
