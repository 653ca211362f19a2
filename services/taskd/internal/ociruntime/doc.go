// Package ociruntime picks the OCI runtime binary taskd's shims drive:
// crun where it is installed (it starts a container in a fraction of
// runc's time), runc otherwise, or what the operator configured
// (BERTH_RUNTIME_BINARY) or a container asked for (runc options'
// BinaryName, as containerd's io.containerd.runc.v2 takes it). Both accept
// the same command line for everything the shim asks of them.
//
// crun refuses to run on a hybrid cgroup host whose unified hierarchy
// holds controllers (some v1 hosts leave hugetlb there); runc uses the v1
// hierarchies on such a host. LegacyCgroupView says when crun needs to be
// shown the host without its unified mount; the shim does that for crun's
// create (the only command that checks) in a mount namespace of its own.
package ociruntime
