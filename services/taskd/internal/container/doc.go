// Package container keeps container records: the spec, runtime, snapshot
// and image a container was created with, its labels and extensions, as
// containerd's containers service does. A record carries no process; tasks
// do.
package container
