// Package network gives a container run by berth its network: a network
// namespace pinned by a bind mount under the node's state, attached through
// CNI (go-cni) to a named conflist from the same directory the CRI uses,
// with port mappings through the portmap plugin. It also parses -p.
package network
