// Package sandbox keeps containerd's sandbox records
// (containerd.services.sandbox.v1.Store) in the gateway's store: what
// clients of the node socket create themselves. The CRI's pod sandboxes are
// not copied here; the service lists them beside these records, read from
// the CRI's own store, so the two never disagree.
package sandbox
