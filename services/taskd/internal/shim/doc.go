// Package shim is Berth's per-container shim and taskd's client for it.
//
// One berth-shim process runs per container, in its own session so it
// outlives taskd. It is a child subreaper: the container's processes are
// reparented to it and it reaps them. It drives runc through go-runc, owns
// the container's stdio (the client's fifos, or a pty from runc's console
// socket), writes each exit status to disk (the state directory) before reporting it, and serves
// a small gob protocol (wire.go) on a unix socket named by a hash of the
// bundle path (SocketPath), short whatever the namespace and id.
// It exits once the task is deleted, or at once when its task could not be
// created (Shutdown), leaving nothing behind.
//
// Stdio URIs (uri.go): fifo paths, file://, crilog:// (the Kubernetes CRI
// log format, crilog.go), binary:// (a logger process, logger.go) for
// output, and fifo paths or attach:// for stdin; attached clients
// (attach.go) get the output through a hub that drops what a slow client
// cannot take. The URIs are trusted: they come from taskd, which takes them
// only from callers of the root-only node socket, and they let the shim,
// running as root, append to any file and run any binary, as containerd's
// shim does.
//
// The shim keeps to the standard library, go-runc and x/sys so its memory
// stays small: it runs once per container.
package shim
