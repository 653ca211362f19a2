// Package spec builds OCI runtime specs from CRI configs: the pod's pause
// container and the containers joining it, with containerd's defaults
// (capabilities, mounts, masked and read-only paths, rlimits) and its
// semantics for commands, users, mounts, resources and namespaces. It reads
// the image's /etc/passwd and /etc/group from a snapshot's directories but
// runs nothing.
package spec
