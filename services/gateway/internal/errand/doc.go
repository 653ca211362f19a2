// Package errand finishes, for node-socket clients, lease calls that imaged
// could not take when they were made: a client's leases Delete that failed
// because imaged was down or went away during it (a delete asked is a
// delete meant, as when containerd itself deletes it), and the drop of a
// lease whose Create failed for its client in a way that leaves open
// whether imaged made it. Each errand is written to the gateway's store
// before it is tried, so a gateway killed meanwhile runs it after its
// restart, and tried again until imaged answers. What the client sees is
// unchanged: its call failed, as containerd's would have.
package errand
