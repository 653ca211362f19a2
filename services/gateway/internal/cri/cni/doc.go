// Package cni attaches pod network namespaces to the node's CNI networks
// through github.com/containerd/go-cni: configurations from one directory,
// plugins from a list of directories, loopback always first. The
// configuration is read again before each attachment and status check, so
// a network installed after the gateway started is picked up.
package cni
