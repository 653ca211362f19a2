// Package shim is Berth's per-container shim and taskd's client for it.
//
// One berth-shim process runs per container, in its own session so it
// outlives taskd. It is a child subreaper: the container's processes are
// reparented to it and it reaps them. It drives runc through go-runc, owns
// the container's stdio (the client's fifos, or a pty from runc's console
// socket), writes each exit status to disk before reporting it, and serves
// a small gob protocol (wire.go) on a unix socket named by a hash of the
// bundle path (SocketPath), short whatever the namespace and id.
// It exits once the task is deleted.
//
// The shim keeps to the standard library, go-runc and x/sys so its memory
// stays small: it runs once per container.
package shim
