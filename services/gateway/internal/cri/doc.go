// Package cri serves the Kubernetes CRI RuntimeService (pods and
// containers) on the node socket. Pod sandboxes are pause containers in
// taskd and containers are taskd containers, all in the containerd
// namespace k8s.io; records live in the gateway's badger (package store),
// networks come from CNI (package cni) in namespaces pinned by package
// netns, and specs are built by package spec. State follows taskd's exit
// and OOM events from a durable JetStream consumer. Images are resolved
// through an ImageResolver and exec, attach and port-forward are delegated
// to a Streamer; both live elsewhere.
package cri
