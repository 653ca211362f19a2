// Package listcache lets the gateway keep a daemon's answer to a list and
// send it again while it is still the daemon's answer, without the daemon
// sending it: the daemon tags each listing it keeps (a tag names one
// listing of one daemon process, never reused), the gateway asks with the
// tag of the copy it holds, and the daemon answers "unchanged" with no
// message when its current listing has that tag, or the listing and its
// new tag. Every list still asks the daemon, so it sees every write the
// daemon made before; only the bytes stay home. It owns the metadata of
// that exchange, not which methods use it (the gateway's router and the
// daemon's handlers decide that).
package listcache
